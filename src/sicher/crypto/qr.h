#pragma once
// QR codes as SVG (libqrencode), for the otpauth:// URI shown at TOTP enrolment.
//
// Thread-safe (libqrencode is built thread-safe on Debian). The text is never put into a
// Status message: it usually contains a secret.

#include <string>
#include <string_view>

#include "sicher/base/status.h"

namespace sicher::crypto {

// Encodes `text` (ECC level M, the smallest version that fits, case-sensitive, non-alphanumeric
// characters in 8-bit mode) and renders a standalone SVG: viewBox "0 0 N N" in modules with a
// quiet zone of 4 modules on each side, a white background rectangle, one black <path> made of
// horizontal runs of unit squares, shape-rendering="crispEdges", no scripts, no external
// references, no width/height (it scales to its container). The SVG contains the text in
// recoverable form: treat it as secret as the text.
// InvalidArgument if `text` is empty, contains a NUL byte or does not fit in a QR code
// (more than ~2,300 bytes at level M); Internal on any other libqrencode failure.
Result<std::string> QrSvg(std::string_view text);

}  // namespace sicher::crypto
