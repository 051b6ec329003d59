# Helpers that keep one CMake library per subsystem folder and tests beside the code.
#
#   sicher_library(NAME base SOURCES a.cc b.cc DEPS fmt::fmt)
#     -> static library sicher_base, include root src/, alias sicher::base
#   sicher_test(NAME base_test SOURCES a_test.cc DEPS sicher::base LABELS unit
#               [ENVIRONMENT "VAR=value"])
#     -> gtest executable registered with CTest, each test labelled.

function(sicher_library)
  cmake_parse_arguments(ARG "" "NAME" "SOURCES;DEPS" ${ARGN})
  add_library(sicher_${ARG_NAME} STATIC ${ARG_SOURCES})
  add_library(sicher::${ARG_NAME} ALIAS sicher_${ARG_NAME})
  target_include_directories(sicher_${ARG_NAME} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(sicher_${ARG_NAME} PUBLIC ${ARG_DEPS})
endfunction()

function(sicher_test)
  if(NOT SICHER_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "NAME;ENVIRONMENT" "SOURCES;DEPS;LABELS" ${ARGN})
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  add_executable(${ARG_NAME} ${ARG_SOURCES})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} sicher::testing GTest::gtest
                        GTest::gmock GTest::gtest_main)
  set(env_property)
  if(ARG_ENVIRONMENT)
    set(env_property ENVIRONMENT "${ARG_ENVIRONMENT}")
  endif()
  gtest_discover_tests(${ARG_NAME}
    DISCOVERY_MODE PRE_TEST
    PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT 300 ${env_property}
    WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
endfunction()
