#include "sicher/net/internal/ticket_keys.h"

#include <gtest/gtest.h>

#include "sicher/testing/fake_clock.h"
#include "sicher/testing/seeded_random.h"

namespace sicher::net::internal {
namespace {

TEST(TicketKeyRingTest, RotatesOnIntervalAndKeepsPreviousKeysForDecryption) {
  sicher::testing::FakeClock clock;
  sicher::testing::SeededRandom random(7);
  TicketKeyRing ring(clock, random, std::chrono::hours(12), /*keep_previous=*/2);
  EXPECT_EQ(ring.generation(), 1u);

  TicketKeyRing::KeyMaterial first;
  ring.CurrentForEncrypt(&first);
  EXPECT_TRUE(first.is_current);
  clock.Advance(std::chrono::hours(11));
  TicketKeyRing::KeyMaterial same;
  ring.CurrentForEncrypt(&same);
  EXPECT_EQ(same.name, first.name);  // not yet due
  EXPECT_EQ(ring.generation(), 1u);

  clock.Advance(std::chrono::hours(1));
  TicketKeyRing::KeyMaterial second;
  ring.CurrentForEncrypt(&second);  // due: a new current key
  EXPECT_EQ(ring.generation(), 2u);
  EXPECT_NE(second.name, first.name);
  EXPECT_NE(second.aes_key, first.aes_key);

  TicketKeyRing::KeyMaterial found;
  ASSERT_TRUE(ring.FindForDecrypt(first.name.data(), &found));
  EXPECT_FALSE(found.is_current);  // decrypts, but the client gets a fresh ticket
  EXPECT_EQ(found.aes_key, first.aes_key);
  EXPECT_EQ(found.hmac_key, first.hmac_key);
  ASSERT_TRUE(ring.FindForDecrypt(second.name.data(), &found));
  EXPECT_TRUE(found.is_current);

  ring.Rotate();
  ring.Rotate();  // first is now three keys back: dropped (and wiped)
  EXPECT_EQ(ring.generation(), 4u);
  EXPECT_FALSE(ring.FindForDecrypt(first.name.data(), &found));
  EXPECT_TRUE(ring.FindForDecrypt(second.name.data(), &found));
  const std::array<uint8_t, 16> unknown{};
  EXPECT_FALSE(ring.FindForDecrypt(unknown.data(), &found));
}

}  // namespace
}  // namespace sicher::net::internal
