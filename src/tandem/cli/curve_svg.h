#pragma once
// A plain SVG line plot for cost-accuracy curves (`tandem eval --task --plot`): axes with ticks,
// axis labels, a title, a legend, lines for curves and labelled dots for single points (each
// model alone, the oracle). No dependency: the file opens in any browser.
#include <string>
#include <utility>
#include <vector>

namespace tandem::cli {

struct PlotSeries {
  std::string name;                               // in the legend
  std::vector<std::pair<double, double>> points;  // (x, y)
  bool line = true;           // true: a polyline through the points; false: dots
  bool label_points = false;  // dots only: write the name beside each dot
  std::string color;          // CSS colour; empty: from the palette
  bool dashed = false;
};

struct Plot {
  std::string title;
  std::string x_label;
  std::string y_label;
  bool log_x = false;  // costs often span two orders of magnitude
  std::vector<PlotSeries> series;
};

// The SVG document. Non-finite points (and x <= 0 on a log axis) are left out; text is escaped.
std::string render_svg(const Plot& plot, int width = 900, int height = 600);

}  // namespace tandem::cli
