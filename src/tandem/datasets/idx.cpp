#include "tandem/datasets/idx.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <memory>
#include <string>

#include "tandem/datasets/dataset_error.h"
#include "tandem/datasets/read_file.h"

namespace tandem::datasets {
namespace {

// zlib's gz* functions read gzip files and, transparently, plain ones; gzdirect() tells which.
class GzFile {
 public:
  explicit GzFile(const std::filesystem::path& path) : path_(path) {
    errno = 0;
    file_ = gzopen(path.c_str(), "rb");
    if (file_ == nullptr) {
      throw DatasetError(path, "cannot open: " + (errno != 0 ? detail::errno_text(errno)
                                                             : std::string("out of memory")));
    }
    gzbuffer(file_, 1 << 17);  // fewer, larger reads: 2x faster than the default 8 KiB here
  }
  ~GzFile() { gzclose_r(file_); }
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;

  // Reads up to n bytes; fewer only at the end of the data. A corrupt or truncated gzip stream is
  // an error at the offset reached.
  std::size_t read(void* out, std::size_t n) {
    std::size_t done = 0;
    while (done < n) {
      const auto chunk = static_cast<unsigned>(std::min<std::size_t>(n - done, 1u << 30));
      const int got = gzread(file_, static_cast<char*>(out) + done, chunk);
      if (got < 0) fail();
      done += static_cast<std::size_t>(got);
      offset_ += static_cast<std::uint64_t>(got);
      if (static_cast<unsigned>(got) < chunk) {
        int code = Z_OK;
        gzerror(file_, &code);
        if (code != Z_OK) fail();
        break;
      }
    }
    return done;
  }

  bool compressed() const { return gzdirect(file_) == 0; }
  std::uint64_t offset() const { return offset_; }
  const char* where() const { return compressed() ? " (offset in the decompressed data)" : ""; }

 private:
  [[noreturn]] void fail() {
    int code = Z_OK;
    std::string message = gzerror(file_, &code);
    // zlib starts its message with the path, which ours already does.
    if (const std::string prefix = path_.string() + ": "; message.starts_with(prefix)) {
      message.erase(0, prefix.size());
    }
    throw DatasetError::at_byte(path_, offset_,
                                std::string("corrupt or truncated gzip data: ") +
                                    (code == Z_ERRNO ? detail::errno_text(errno) : message) +
                                    where());
  }

  std::filesystem::path path_;
  gzFile file_ = nullptr;
  std::uint64_t offset_ = 0;
};

const char* type_name(unsigned char type) {
  switch (type) {
    case 0x08:
      return "unsigned byte";
    case 0x09:
      return "signed byte";
    case 0x0B:
      return "short";
    case 0x0C:
      return "int";
    case 0x0D:
      return "float";
    case 0x0E:
      return "double";
    default:
      return nullptr;
  }
}

std::string hex(unsigned value) {
  char text[8];
  std::snprintf(text, sizeof text, "0x%02X", value);
  return text;
}

}  // namespace

IdxArray load_idx(const std::filesystem::path& file, const IdxOptions& options) {
  GzFile in(file);
  std::array<unsigned char, 4> magic{};
  if (in.read(magic.data(), magic.size()) != magic.size()) {
    throw DatasetError::at_byte(file, in.offset(),
                                std::string("truncated: an IDX file starts with a 4-byte magic "
                                            "number") +
                                    in.where());
  }
  if (magic[0] != 0 || magic[1] != 0) {
    throw DatasetError::at_byte(file, 0,
                                "not an IDX file: magic number " + hex(magic[0]) + " " +
                                    hex(magic[1]) + " " + hex(magic[2]) + " " + hex(magic[3]) +
                                    " does not start with two zero bytes" + in.where());
  }
  if (magic[2] != 0x08) {
    const char* name = type_name(magic[2]);
    throw DatasetError::at_byte(
        file, 2,
        "element type " + hex(magic[2]) +
            (name != nullptr ? std::string(" (") + name +
                                   ") is not supported: only 0x08, unsigned "
                                   "byte"
                             : std::string(" is not an IDX type")) +
            in.where());
  }
  const unsigned ndims = magic[3];
  if (ndims == 0 || ndims > 8) {
    throw DatasetError::at_byte(
        file, 3, std::to_string(ndims) + " dimensions: expected 1 to 8" + in.where());
  }

  IdxArray out;
  out.dims.resize(ndims);
  std::uint64_t bytes = 1;
  for (unsigned d = 0; d < ndims; ++d) {
    std::array<unsigned char, 4> be{};
    const std::uint64_t at = in.offset();
    if (in.read(be.data(), be.size()) != be.size()) {
      throw DatasetError::at_byte(file, in.offset(),
                                  "truncated header: the file ends inside dimension " +
                                      std::to_string(d + 1) + " of " + std::to_string(ndims) +
                                      in.where());
    }
    out.dims[d] = (std::uint32_t{be[0]} << 24) | (std::uint32_t{be[1]} << 16) |
                  (std::uint32_t{be[2]} << 8) | std::uint32_t{be[3]};
    // Every dimension is below 2^32, so the product only overflows after passing the limit.
    if (out.dims[d] != 0 && bytes > options.max_bytes / out.dims[d]) {
      throw DatasetError::at_byte(file, at,
                                  "dimension " + std::to_string(d + 1) + " (" +
                                      std::to_string(out.dims[d]) +
                                      ") makes the data larger than the limit of " +
                                      std::to_string(options.max_bytes) + " bytes" + in.where());
    }
    bytes *= out.dims[d];
  }
  const std::uint64_t header = in.offset();

  // Plain files: compare with the real size before allocating anything. Compressed ones are read
  // in growing steps, so a header that lies costs at most what the stream really holds.
  std::uint64_t step = bytes;
  if (!in.compressed()) {
    std::error_code ec;
    const std::uint64_t size = std::filesystem::file_size(file, ec);
    if (!ec && size != header + bytes) {
      std::string dims;
      for (auto d : out.dims) dims += (dims.empty() ? "" : "x") + std::to_string(d);
      throw DatasetError::at_byte(file, std::min(size, header + bytes),
                                  size < header + bytes
                                      ? "truncated: the header says " + dims + " = " +
                                            std::to_string(bytes) + " bytes of data after byte " +
                                            std::to_string(header) + ", the file has " +
                                            std::to_string(size - header)
                                      : std::to_string(size - header - bytes) +
                                            " unexpected bytes after the " + dims + " data");
    }
  } else {
    step = std::min<std::uint64_t>(bytes, std::uint64_t{64} << 20);
  }
  std::uint64_t have = 0;
  while (have < bytes) {
    const std::uint64_t target = std::min(bytes, std::max(have * 2, have + step));
    out.data.resize(static_cast<std::size_t>(target));
    const std::size_t got =
        in.read(out.data.data() + have, static_cast<std::size_t>(target - have));
    have += got;
    if (have < target) {
      throw DatasetError::at_byte(file, in.offset(),
                                  "truncated: the data ends after " + std::to_string(have) +
                                      " of the " + std::to_string(bytes) +
                                      " bytes the header gives" + in.where());
    }
  }
  unsigned char extra = 0;
  if (in.read(&extra, 1) != 0) {
    throw DatasetError::at_byte(
        file, header + bytes,
        std::string("unexpected bytes after the data the header gives") + in.where());
  }
  return out;
}

ImageSet load_idx_images(const std::filesystem::path& images, const std::filesystem::path& labels,
                         unsigned classes, const IdxOptions& options) {
  IdxArray image_array = load_idx(images, options);
  if (image_array.dims.size() != 3) {
    throw DatasetError::at_byte(images, 3,
                                "an image file has 3 dimensions (count, rows, columns), this one " +
                                    std::to_string(image_array.dims.size()));
  }
  if (image_array.dims[1] == 0 || image_array.dims[2] == 0) {
    throw DatasetError::at_byte(images, 8, "images of zero rows or columns");
  }
  IdxArray label_array = load_idx(labels, options);
  if (label_array.dims.size() != 1) {
    throw DatasetError::at_byte(labels, 3,
                                "a label file has 1 dimension (count), this one " +
                                    std::to_string(label_array.dims.size()));
  }
  if (label_array.dims[0] != image_array.dims[0]) {
    throw DatasetError::at_byte(labels, 4,
                                std::to_string(label_array.dims[0]) + " labels for " +
                                    std::to_string(image_array.dims[0]) + " images in " +
                                    images.string());
  }
  const auto bad = std::find_if(label_array.data.begin(), label_array.data.end(),
                                [&](std::uint8_t label) { return label >= classes; });
  if (bad != label_array.data.end()) {
    const auto i = static_cast<std::uint64_t>(bad - label_array.data.begin());
    throw DatasetError::at_byte(labels, 8 + i,
                                "label " + std::to_string(*bad) + " of image " + std::to_string(i) +
                                    " is not below the class count " + std::to_string(classes));
  }
  ImageSet set;
  set.rows = image_array.dims[1];
  set.cols = image_array.dims[2];
  set.pixels = std::move(image_array.data);
  set.labels = std::move(label_array.data);
  return set;
}

}  // namespace tandem::datasets
