#include "sicher/crypto/qr.h"

#include <qrencode.h>

#include <cerrno>
#include <memory>

#include "sicher/base/bytes.h"

namespace sicher::crypto {
namespace {

constexpr int kQuietZone = 4;

struct QrDeleter {
  void operator()(QRcode* code) const { QRcode_free(code); }
};
using QrPtr = std::unique_ptr<QRcode, QrDeleter>;

}  // namespace

Result<std::string> QrSvg(std::string_view text) {
  if (text.empty()) return InvalidArgumentError("QR code text is empty");
  if (text.find('\0') != std::string_view::npos) {
    return InvalidArgumentError("QR code text contains a NUL byte");
  }
  std::string c_text(text);  // libqrencode wants a NUL-terminated string
  errno = 0;
  QrPtr code(QRcode_encodeString(c_text.c_str(), /*version=*/0, QR_ECLEVEL_M, QR_MODE_8,
                                 /*casesensitive=*/1));
  const int err = errno;
  SecureWipe(c_text.data(), c_text.size());
  if (!code) {
    if (err == ERANGE) return InvalidArgumentError("QR code text is too long");
    return InternalError("QR encoding failed");
  }

  const int width = code->width;
  const int size = width + 2 * kQuietZone;
  std::string svg;
  svg.reserve(static_cast<size_t>(width) * width * 4 + 256);
  svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 ";
  svg += std::to_string(size);
  svg += ' ';
  svg += std::to_string(size);
  svg += "\" shape-rendering=\"crispEdges\"><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>";
  svg += "<path fill=\"#000\" d=\"";
  // One subpath per horizontal run of dark modules: "M<x> <y>h<run>v1h-<run>z".
  for (int y = 0; y < width; ++y) {
    const unsigned char* row = code->data + static_cast<size_t>(y) * width;
    for (int x = 0; x < width;) {
      if ((row[x] & 1) == 0) {
        ++x;
        continue;
      }
      int run = 1;
      while (x + run < width && (row[x + run] & 1) != 0) ++run;
      svg += 'M';
      svg += std::to_string(x + kQuietZone);
      svg += ' ';
      svg += std::to_string(y + kQuietZone);
      svg += 'h';
      svg += std::to_string(run);
      svg += "v1h-";
      svg += std::to_string(run);
      svg += 'z';
      x += run;
    }
  }
  SecureWipe(code->data, static_cast<size_t>(width) * width);
  svg += "\"/></svg>\n";
  return svg;
}

}  // namespace sicher::crypto
