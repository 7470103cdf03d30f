#include "tandem/cli/curve_svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace tandem::cli {
namespace {

const char* kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                          "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string tick_label(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

// "Nice" ticks (1, 2, 5 x 10^k) covering [lo, hi].
std::vector<double> linear_ticks(double lo, double hi) {
  const double span = hi - lo;
  const double raw = span / 6;
  const double mag = std::pow(10, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  }
  std::vector<double> t;
  for (double v = std::ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) t.push_back(v);
  return t;
}

}  // namespace

std::string render_svg(const Plot& plot, int width, int height) {
  const double left = 80, right = 230, top = 50, bottom = 60;  // room for the legend on the right
  const double pw = width - left - right, ph = height - top - bottom;
  auto usable = [&](double x, double y) {
    return std::isfinite(x) && std::isfinite(y) && (!plot.log_x || x > 0);
  };
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  for (const auto& s : plot.series) {
    for (const auto& [x, y] : s.points) {
      if (!usable(x, y)) continue;
      const double xv = plot.log_x ? std::log10(x) : x;
      x0 = std::min(x0, xv), x1 = std::max(x1, xv), y0 = std::min(y0, y), y1 = std::max(y1, y);
    }
  }
  if (!std::isfinite(x0)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (x1 - x0 < 1e-12) x0 -= 0.5, x1 += 0.5;
  if (y1 - y0 < 1e-12) y0 -= 0.05, y1 += 0.05;
  const double xpad = (x1 - x0) * 0.04, ypad = (y1 - y0) * 0.06;
  x0 -= xpad, x1 += xpad, y0 -= ypad, y1 += ypad;
  auto sx = [&](double x) {
    const double xv = plot.log_x ? std::log10(x) : x;
    return left + (xv - x0) / (x1 - x0) * pw;
  };
  auto sy = [&](double y) { return top + (1 - (y - y0) / (y1 - y0)) * ph; };

  std::string o;
  o += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) +
       "\" height=\"" + std::to_string(height) +
       "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  o += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o += "<text x=\"" + num(left + pw / 2) + "\" y=\"28\" text-anchor=\"middle\" font-size=\"16\">" +
       escape(plot.title) + "</text>\n";
  // Grid and ticks.
  std::vector<double> xt;
  if (plot.log_x) {
    for (double e = std::floor(x0); e <= std::ceil(x1); e += 1) {
      for (double m : {1.0, 2.0, 5.0}) {
        const double v = m * std::pow(10, e);
        if (std::log10(v) >= x0 && std::log10(v) <= x1) xt.push_back(v);
      }
    }
  } else {
    xt = linear_ticks(x0, x1);
  }
  for (double v : xt) {
    const double x = sx(v);
    o += "<line x1=\"" + num(x) + "\" y1=\"" + num(top) + "\" x2=\"" + num(x) + "\" y2=\"" +
         num(top + ph) + "\" stroke=\"#e5e5e5\"/>\n";
    o += "<text x=\"" + num(x) + "\" y=\"" + num(top + ph + 18) + "\" text-anchor=\"middle\">" +
         tick_label(v) + "</text>\n";
  }
  for (double v : linear_ticks(y0, y1)) {
    const double y = sy(v);
    o += "<line x1=\"" + num(left) + "\" y1=\"" + num(y) + "\" x2=\"" + num(left + pw) +
         "\" y2=\"" + num(y) + "\" stroke=\"#e5e5e5\"/>\n";
    o += "<text x=\"" + num(left - 8) + "\" y=\"" + num(y + 4) + "\" text-anchor=\"end\">" +
         tick_label(v) + "</text>\n";
  }
  o += "<rect x=\"" + num(left) + "\" y=\"" + num(top) + "\" width=\"" + num(pw) + "\" height=\"" +
       num(ph) + "\" fill=\"none\" stroke=\"black\"/>\n";
  o += "<text x=\"" + num(left + pw / 2) + "\" y=\"" + num(height - 15.0) +
       "\" text-anchor=\"middle\">" + escape(plot.x_label) + (plot.log_x ? " (log scale)" : "") +
       "</text>\n";
  o += "<text transform=\"translate(20," + num(top + ph / 2) +
       ") rotate(-90)\" text-anchor=\"middle\">" + escape(plot.y_label) + "</text>\n";
  // Series and legend.
  for (std::size_t i = 0; i < plot.series.size(); ++i) {
    const PlotSeries& s = plot.series[i];
    const std::string color = s.color.empty() ? kPalette[i % 10] : s.color;
    const std::string dash = s.dashed ? " stroke-dasharray=\"6,4\"" : "";
    if (s.line) {
      std::string pts;
      for (const auto& [x, y] : s.points) {
        if (usable(x, y)) pts += num(sx(x)) + "," + num(sy(y)) + " ";
      }
      o += "<polyline fill=\"none\" stroke=\"" + color + "\" stroke-width=\"2\"" + dash +
           " points=\"" + pts + "\"/>\n";
    } else {
      for (const auto& [x, y] : s.points) {
        if (!usable(x, y)) continue;
        o += "<circle cx=\"" + num(sx(x)) + "\" cy=\"" + num(sy(y)) + "\" r=\"4\" fill=\"" + color +
             "\"/>\n";
        if (s.label_points) {
          o += "<text x=\"" + num(sx(x) + 6) + "\" y=\"" + num(sy(y) - 6) +
               "\" font-size=\"10\" fill=\"" + color + "\">" + escape(s.name) + "</text>\n";
        }
      }
    }
    const double ly = top + 10 + 18.0 * static_cast<double>(i), lx = left + pw + 15;
    if (s.line) {
      o += "<line x1=\"" + num(lx) + "\" y1=\"" + num(ly) + "\" x2=\"" + num(lx + 24) + "\" y2=\"" +
           num(ly) + "\" stroke=\"" + color + "\" stroke-width=\"2\"" + dash + "/>\n";
    } else {
      o += "<circle cx=\"" + num(lx + 12) + "\" cy=\"" + num(ly) + "\" r=\"4\" fill=\"" + color +
           "\"/>\n";
    }
    o += "<text x=\"" + num(lx + 30) + "\" y=\"" + num(ly + 4) + "\" font-size=\"11\">" +
         escape(s.name) + "</text>\n";
  }
  o += "</svg>\n";
  return o;
}

}  // namespace tandem::cli
