// Anchor for the header-only fakes.
#include "sicher/testing/fake_clock.h"
#include "sicher/testing/seeded_random.h"
