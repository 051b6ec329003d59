#pragma once
// CHECK: bugs are crashes. Use for invariants that only a programming error can break, never for
// input from outside (that gets a Status).

#include <cstdlib>
#include <iostream>

#define CHECK(cond)                                                                      \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::cerr << __FILE__ << ":" << __LINE__ << ": CHECK failed: " #cond << std::endl; \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)

#define CHECK_OK(expr)                                                                          \
  do {                                                                                          \
    auto&& sicher_check_status_ = (expr);                                                       \
    if (!sicher_check_status_.ok()) {                                                           \
      std::cerr << __FILE__ << ":" << __LINE__ << ": CHECK_OK failed: "                         \
                << ::sicher::internal::GetStatus(sicher_check_status_).ToString() << std::endl; \
      std::abort();                                                                             \
    }                                                                                           \
  } while (0)
