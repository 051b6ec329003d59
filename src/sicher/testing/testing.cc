// Anchor for the header-only fakes; grows with in-memory and fault-injecting file systems.
#include "sicher/testing/fake_clock.h"
#include "sicher/testing/seeded_random.h"
