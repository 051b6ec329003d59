#pragma once
// gtest helpers for Status and Result.

#include <gtest/gtest.h>

#include "sicher/base/status.h"

// ASSERT_OK / EXPECT_OK bind `expr` to a named reference first: GetStatus() of a temporary
// returns a reference into it, which would dangle after that statement.

#define ASSERT_OK(expr)                                               \
  do {                                                                \
    auto&& sicher_v_ = (expr);                                        \
    const auto& sicher_s_ = ::sicher::internal::GetStatus(sicher_v_); \
    ASSERT_TRUE(sicher_s_.ok()) << sicher_s_.ToString();              \
  } while (0)
#define EXPECT_OK(expr)                                               \
  do {                                                                \
    auto&& sicher_v_ = (expr);                                        \
    const auto& sicher_s_ = ::sicher::internal::GetStatus(sicher_v_); \
    EXPECT_TRUE(sicher_s_.ok()) << sicher_s_.ToString();              \
  } while (0)
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL(SICHER_CONCAT(sicher_r_, __LINE__), lhs, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL(tmp, lhs, expr)   \
  auto tmp = (expr);                                \
  ASSERT_TRUE(tmp.ok()) << tmp.status().ToString(); \
  lhs = std::move(tmp).value()
