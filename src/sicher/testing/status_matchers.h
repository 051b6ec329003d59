#pragma once
// gtest helpers for Status and Result.

#include <gtest/gtest.h>

#include "sicher/base/status.h"

#define ASSERT_OK(expr)                                                   \
  do {                                                                    \
    const auto& sicher_s_ = ::sicher::internal::GetStatus(expr);          \
    ASSERT_TRUE(sicher_s_.ok()) << sicher_s_.ToString();                  \
  } while (0)
#define EXPECT_OK(expr)                                                   \
  do {                                                                    \
    const auto& sicher_s_ = ::sicher::internal::GetStatus(expr);          \
    EXPECT_TRUE(sicher_s_.ok()) << sicher_s_.ToString();                  \
  } while (0)
#define ASSERT_OK_AND_ASSIGN(lhs, expr)                                   \
  ASSERT_OK_AND_ASSIGN_IMPL(SICHER_CONCAT(sicher_r_, __LINE__), lhs, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL(tmp, lhs, expr)                         \
  auto tmp = (expr);                                                      \
  ASSERT_TRUE(tmp.ok()) << tmp.status().ToString();                       \
  lhs = std::move(tmp).value()
