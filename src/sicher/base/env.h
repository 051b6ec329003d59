#pragma once
// Env bundles the operating-system seams (Clock, FileSystem, Random) passed to constructors.
// It borrows all three: whoever builds the Env keeps them alive longer than every user.

#include "sicher/base/clock.h"
#include "sicher/base/file_system.h"
#include "sicher/base/random.h"

namespace sicher {

struct Env {
  Clock& clock;
  FileSystem& fs;
  Random& random;

  // The process-wide real environment (RealClock, PosixFileSystem, SystemRandom).
  static Env& Default();
};

}  // namespace sicher
