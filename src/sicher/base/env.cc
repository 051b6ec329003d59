#include "sicher/base/env.h"

namespace sicher {

Env& Env::Default() {
  static RealClock clock;
  static PosixFileSystem fs;
  static SystemRandom random;
  static Env env{clock, fs, random};
  return env;
}

}  // namespace sicher
