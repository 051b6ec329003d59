# Keys and encryption at rest (docs/design/keys.md): AES-256-GCM, HMAC/HKDF, the keyring file,
# blind indexes and sealed personal fields. Included by crypto/CMakeLists.txt.
list(APPEND CRYPTO_SOURCES aead.cc blind_index.cc field.cc kdf.cc keyring.cc)
list(APPEND CRYPTO_TESTS aead_test.cc blind_index_test.cc field_test.cc kdf_test.cc keyring_test.cc)
