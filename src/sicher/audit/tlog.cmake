# Transparency-log primitives for the audit log: the RFC 6962 / RFC 9162 Merkle tree stored as
# perfect subtrees, and C2SP signed checkpoints. Included by audit/CMakeLists.txt.
sicher_library(NAME tlog
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/merkle.cc ${CMAKE_CURRENT_SOURCE_DIR}/checkpoint.cc
  DEPS sicher::base sicher::crypto)

sicher_test(NAME tlog_test
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/merkle_test.cc ${CMAKE_CURRENT_SOURCE_DIR}/checkpoint_test.cc
  DEPS sicher::tlog)
