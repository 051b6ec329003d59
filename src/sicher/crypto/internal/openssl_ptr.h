#pragma once
// unique_ptr owners for OpenSSL objects, freed with their own *_free function. Private to
// crypto/.

#include <openssl/bio.h>
#include <openssl/evp.h>

#include <memory>

namespace sicher::crypto::internal {

template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};

template <typename T, auto Free>
using OpenSslPtr = std::unique_ptr<T, Deleter<Free>>;

using EvpPkeyPtr = OpenSslPtr<EVP_PKEY, EVP_PKEY_free>;
using EvpMdCtxPtr = OpenSslPtr<EVP_MD_CTX, EVP_MD_CTX_free>;
using BioPtr = OpenSslPtr<BIO, BIO_free_all>;

}  // namespace sicher::crypto::internal
