// docstore_bench: throughput of the document store (docs/), for bench/docstore_vs_openssl.sh.
//
// Measures, on one SQLite database in a temp dir with a real keyring:
//   seal_mem    VersionCipher::SealChunk over chunk-sized buffers in memory (one thread)
//   open_mem    VersionCipher::OpenChunk of the same (one thread)
//   upload      DocStore::Upload of a generated document: read, seal, write, commit (fsync)
//   download    DocStore::Read of it into a sink that only counts: fetch, open, deliver
// and prints one line per measurement: "<name> <wall MB/s> <cpu MB/s>" (MB = 10^6 bytes of
// plaintext; see Timer), which the script turns into ratios. Usage:
//   docstore_bench [--size-mib 256] [--chunk-kib 1024] [--mem-mib 1024] [--dir /tmp]

#include <stdlib.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "sicher/auth/schema.h"
#include "sicher/base/ids.h"
#include "sicher/base/metrics.h"
#include "sicher/crypto/keyring.h"
#include "sicher/docs/doc_store.h"
#include "sicher/docs/envelope.h"
#include "sicher/docs/schema.h"
#include "sicher/events/bus.h"
#include "sicher/keys/data_keys.h"
#include "sicher/store/sqlite/sqlite_store.h"

namespace sicher::docs {
namespace {

// Wall-clock time and CPU time (of this thread, or of the whole process: the store's writer
// and reader work happens on other threads too). `openssl speed` reports per CPU-second by
// default (user time), which is what the CPU figures compare with; on a loaded machine the
// wall-clock figures are lower for both (compare them with `openssl speed -elapsed`).
struct Timer {
  explicit Timer(clockid_t cpu_clock) : cpu_clock(cpu_clock) { Start(); }
  void Start() {
    wall0 = std::chrono::steady_clock::now();
    cpu0 = Cpu();
  }
  double Cpu() const {
    timespec ts{};
    clock_gettime(cpu_clock, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
  }
  // Prints "<name> <wall MB/s> <cpu MB/s>" for `bytes` processed since Start.
  void Report(const char* name, uint64_t bytes) const {
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
    const double cpu = Cpu() - cpu0;
    std::printf("%s %.1f %.1f\n", name, static_cast<double>(bytes) / 1e6 / wall,
                static_cast<double>(bytes) / 1e6 / cpu);
    std::fflush(stdout);
  }
  clockid_t cpu_clock;
  std::chrono::steady_clock::time_point wall0;
  double cpu0 = 0;
};

// `size` bytes of a fixed random block, repeated.
class BlockSource final : public ByteSource {
 public:
  BlockSource(const std::string& block, uint64_t size) : block_(block), size_(size) {}
  Result<size_t> Read(std::span<char> out) override {
    const size_t n = static_cast<size_t>(
        std::min<uint64_t>({out.size(), size_ - offset_, block_.size() - offset_ % block_.size()}));
    std::memcpy(out.data(), block_.data() + offset_ % block_.size(), n);
    offset_ += n;
    return n;
  }

 private:
  const std::string& block_;
  const uint64_t size_;
  uint64_t offset_ = 0;
};

class CountingSink final : public ByteSink {
 public:
  Status Write(std::string_view bytes) override {
    bytes_ += bytes.size();
    return OkStatus();
  }
  uint64_t bytes() const { return bytes_; }

 private:
  uint64_t bytes_ = 0;
};

void Die(const Status& s, const char* what) {
  if (s.ok()) return;
  std::fprintf(stderr, "docstore_bench: %s: %s\n", what, s.ToString().c_str());
  std::exit(1);
}

int Main(int argc, char** argv) {
  uint64_t size_mib = 256, chunk_kib = 1024, mem_mib = 1024;
  std::string parent = "/tmp";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--size-mib") {
      size_mib = std::stoull(argv[i + 1]);
    } else if (flag == "--chunk-kib") {
      chunk_kib = std::stoull(argv[i + 1]);
    } else if (flag == "--mem-mib") {
      mem_mib = std::stoull(argv[i + 1]);
    } else if (flag == "--dir") {
      parent = argv[i + 1];
    } else {
      std::fprintf(stderr,
                   "usage: docstore_bench [--size-mib N] [--chunk-kib N] [--mem-mib N] "
                   "[--dir DIR]\n");
      return 2;
    }
  }
  const uint32_t chunk = static_cast<uint32_t>(chunk_kib * 1024);
  Env& env = Env::Default();

  std::string block(chunk, '\0');
  env.random.Fill(crypto::AsWritableBytes(block));

  // 1. Pure seal/open in memory.
  {
    SecretBytes dek = crypto::NewDataKey(env.random);
    Result<VersionCipher> cipher =
        VersionCipher::Create(dek, NewKeySalt(env.random), {"acc_bench", "doc_bench", 1});
    Die(cipher.status(), "cipher");
    std::string sealed(chunk + kChunkOverhead, '\0');
    std::string plain(chunk, '\0');
    const uint64_t n = std::max<uint64_t>(1, (mem_mib << 20) / chunk);
    Timer timer(CLOCK_THREAD_CPUTIME_ID);
    for (uint64_t i = 0; i < n; ++i) {
      Die(cipher->SealChunk(i, i + 1 == n, crypto::AsBytes(block), crypto::AsWritableBytes(sealed)),
          "seal");
    }
    timer.Report("seal_mem", n * chunk);
    // Open the same chunk repeatedly (index n - 1, the last one sealed).
    timer.Start();
    for (uint64_t i = 0; i < n; ++i) {
      Die(cipher->OpenChunk(n - 1, true, crypto::AsBytes(sealed), crypto::AsWritableBytes(plain)),
          "open");
    }
    timer.Report("open_mem", n * chunk);
  }

  // 2. Store level.
  std::string tmpl = parent + "/sicher_docstore_bench_XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::string dir = tmpl;
  {
    Result<std::unique_ptr<crypto::Keyring>> keyring =
        crypto::Keyring::OpenOrCreate(env, dir + "/keyring");
    Die(keyring.status(), "keyring");
    metrics::Registry registry;
    store::SqliteOptions so;
    so.path = dir + "/sicher.db";
    so.migrations = store::CoreMigrations();
    for (auto& m : auth::AuthMigrations()) so.migrations.push_back(m);
    for (auto& m : DocsMigrations()) so.migrations.push_back(m);
    for (auto& m : audit::AuditMigrations()) so.migrations.push_back(m);
    Result<std::unique_ptr<store::Store>> store = store::OpenSqliteStore(so, env, registry);
    Die(store.status(), "store");
    events::Bus bus;
    audit::Log audit(**keyring, env);
    DocStoreOptions options;
    options.chunk_size = chunk;
    Result<std::unique_ptr<DocStore>> docs =
        DocStore::Create(**store, **keyring, bus, audit, env, options);
    Die(docs.status(), "docstore");

    AccessContext ctx;
    ctx.account_id = NewId(env.random, "acc");
    ctx.actor_id = NewId(env.random, "usr");
    keys::DataKeys keys(**keyring, env.random);
    Die((*store)->Write([&](store::Txn& txn) -> Status {
      RETURN_IF_ERROR(
          txn.Exec("INSERT INTO accounts (id, name_sealed, created_at) VALUES (?, ?, ?)",
                   {ctx.account_id, store::Blob{"x"}, int64_t{0}}));
      return keys.Create(txn, ctx.account_id, env.clock.Now()).status();
    }),
        "account");

    const uint64_t size = size_mib << 20;
    NewDocument doc;
    doc.title = "bench";
    BlockSource source(block, size);
    Timer timer(CLOCK_PROCESS_CPUTIME_ID);
    Result<DocumentMeta> meta = (*docs)->Upload(ctx, doc, source);
    Die(meta.status(), "upload");
    timer.Report("upload", size);

    CountingSink sink;
    timer.Start();
    Die((*docs)->Read(ctx, meta->id, std::nullopt, sink), "read");
    if (sink.bytes() != size) {
      std::fprintf(stderr, "docstore_bench: read %llu bytes, expected %llu\n",
                   static_cast<unsigned long long>(sink.bytes()),
                   static_cast<unsigned long long>(size));
      return 1;
    }
    timer.Report("download", size);
  }
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace sicher::docs

int main(int argc, char** argv) { return sicher::docs::Main(argc, argv); }
