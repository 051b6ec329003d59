# Ed25519 signatures (signing.h): the audit log's signed checkpoints. Included by
# crypto/CMakeLists.txt.
list(APPEND CRYPTO_SOURCES signing.cc)
list(APPEND CRYPTO_TESTS signing_test.cc)
