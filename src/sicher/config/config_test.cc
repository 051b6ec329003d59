#include "sicher/config/config.h"

#include <gtest/gtest.h>

#include "sicher/testing/fake_clock.h"
#include "sicher/testing/mem_file_system.h"
#include "sicher/testing/seeded_random.h"
#include "sicher/testing/status_matchers.h"

namespace sicher::config {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using Environ = std::map<std::string, std::string>;

bool Contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

// The message of a failed parse, or "" if it succeeded.
std::string ErrorOf(std::string_view toml, const Environ& environ = {}) {
  Result<Config> r = ParseConfig(toml, "sicher.toml", environ);
  return r.ok() ? "" : r.status().message();
}

TEST(ConfigKeysTest, NamesAreTheContract) {
  std::vector<std::string> names;
  for (const KeyInfo& k : Keys()) names.push_back(k.name);
  EXPECT_EQ(names, (std::vector<std::string>{"server.public_listen",
                                             "server.operator_listen",
                                             "server.redirect_listen",
                                             "server.tls_profile",
                                             "server.trusted_proxies",
                                             "server.cert_file",
                                             "server.key_file",
                                             "server.max_header_bytes",
                                             "server.max_body_bytes",
                                             "server.read_timeout",
                                             "server.idle_timeout",
                                             "server.handshake_timeout",
                                             "server.max_connections",
                                             "server.shutdown_grace",
                                             "server.io_threads",
                                             "server.worker_threads",
                                             "server.worker_queue",
                                             "server.cert_check_interval",
                                             "server.ticket_key_rotation",
                                             "database.url",
                                             "database.readers",
                                             "data.dir",
                                             "log.max_file_bytes",
                                             "log.retention_files",
                                             "log.stderr_level",
                                             "log.syslog.address",
                                             "log.syslog.facility",
                                             "log.syslog.categories",
                                             "log.syslog.queue_limit",
                                             "log.syslog.max_message_bytes",
                                             "log.syslog.hostname",
                                             "health.min_free_bytes",
                                             "keys.keyring_path",
                                             "auth.signup",
                                             "auth.session_idle_timeout",
                                             "auth.session_lifetime",
                                             "auth.argon2_memory",
                                             "auth.argon2_iterations",
                                             "auth.hash_threads",
                                             "auth.hash_queue",
                                             "auth.lockout_threshold",
                                             "auth.lockout_duration",
                                             "auth.ip_failure_limit",
                                             "auth.signup_ip_limit",
                                             "auth.mfa_challenge_ttl",
                                             "auth.invitation_ttl",
                                             "auth.totp_issuer",
                                             "audit.origin",
                                             "audit.signing_key_path",
                                             "audit.checkpoint_interval",
                                             "audit.retention_days",
                                             "docs.max_document_bytes",
                                             "docs.chunk_size",
                                             "geo.database_path",
                                             "backup.schedule",
                                             "backup.retention_days",
                                             "backup.sites"}));
  EXPECT_EQ(FindKey("server.public_listen")->EnvName(), "SICHER_SERVER_PUBLIC_LISTEN");
  EXPECT_EQ(FindKey("nope"), nullptr);
  for (const KeyInfo& k : Keys()) {
    EXPECT_FALSE(k.meaning.empty()) << k.name;
    EXPECT_FALSE(k.type.empty()) << k.name;
  }
}

TEST(ConfigKeysTest, TableDefaultsEqualStructDefaults) {
  // Each key set explicitly to its table default must give Config{}.
  std::string doc;
  std::string section;
  for (const KeyInfo& k : Keys()) {
    const std::string s = k.name.substr(0, k.name.find('.'));
    if (s != section) doc += "[" + (section = s) + "]\n";
    doc += k.name.substr(s.size() + 1) + " = " + k.default_toml + "\n";
  }
  Result<Config> parsed = ParseConfig(doc, "table-defaults", {});
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString() << "\n" << doc;
  EXPECT_TRUE(*parsed == Config{});
}

TEST(ConfigTest, SyslogKeysAsDottedKeysTableOrEnvironment) {
  ASSERT_OK_AND_ASSIGN(Config dotted,
                       ParseConfig("[log]\nsyslog.address = \"udp://127.0.0.1:514\"\n"
                                   "syslog.categories = \"security, app\"\n",
                                   "a.toml", {}));
  EXPECT_EQ(dotted.log.syslog.address, "udp://127.0.0.1:514");
  EXPECT_EQ(dotted.log.syslog.categories, "security, app");
  ASSERT_OK_AND_ASSIGN(Config table,
                       ParseConfig("[log.syslog]\naddress = \"tcp://[::1]:601\"\nfacility = "
                                   "\"auth\"\nqueue_limit = 5\n",
                                   "b.toml", {}));
  EXPECT_EQ(table.log.syslog.address, "tcp://[::1]:601");
  EXPECT_EQ(table.log.syslog.facility, "auth");
  EXPECT_EQ(table.log.syslog.queue_limit, 5);
  ASSERT_OK_AND_ASSIGN(Config env,
                       ParseConfig("", "c.toml", {{"SICHER_LOG_SYSLOG_ADDRESS", "udp://h:514"}}));
  EXPECT_EQ(env.log.syslog.address, "udp://h:514");

  EXPECT_TRUE(Contains(ErrorOf("[log.syslog]\naddress = \"h:514\"\n"), "log.syslog.address"));
  EXPECT_TRUE(Contains(ErrorOf("[log.syslog]\naddress = \"h:514\"\n"), "udp://HOST:PORT"));
  EXPECT_TRUE(Contains(ErrorOf("[log.syslog]\naddress = \"udp://h\"\n"), "log.syslog.address"));
  EXPECT_TRUE(Contains(ErrorOf("[log.syslog]\naddress = \"tcp://h:0\"\n"), "1..65535"));
  EXPECT_TRUE(Contains(ErrorOf("[log.syslog]\nfacility = \"kern\"\n"), "log.syslog.facility"));
  EXPECT_TRUE(Contains(ErrorOf("[log.syslog]\ncategories = \"secrets\"\n"), "\"secrets\""));
  EXPECT_TRUE(Contains(ErrorOf("[log.syslog]\ncategories = \" , \"\n"), "at least one"));
  EXPECT_TRUE(Contains(ErrorOf("[log.syslog]\nhostname = \"a b\"\n"), "log.syslog.hostname"));
  EXPECT_TRUE(
      Contains(ErrorOf("[log.syslog]\nadress = \"\"\n"), "did you mean log.syslog.address"));
  EXPECT_TRUE(Contains(ErrorOf("[log]\nsyslog = 1\n"), "log.syslog: unknown key"));
}

TEST(ConfigTest, EmptyFileGivesDefaults) {
  ASSERT_OK_AND_ASSIGN(Config c, ParseConfig("", "empty.toml", {}));
  EXPECT_TRUE(c == Config{});
  EXPECT_EQ(c.server.public_listen.ToString(), "0.0.0.0:8443");
  EXPECT_EQ(c.server.operator_listen.ToString(), "127.0.0.1:9443");
  EXPECT_FALSE(c.server.redirect_listen.has_value());
  EXPECT_EQ(c.server.tls_profile, "intermediate");
  EXPECT_EQ(c.server.max_header_bytes, 16u * 1024);
  EXPECT_EQ(c.server.read_timeout, seconds(10));
  EXPECT_EQ(c.server.ticket_key_rotation, hours(12));
  EXPECT_EQ(c.data.dir, "./sicher-data");
  EXPECT_EQ(c.log.max_file_bytes, 64ull << 20);
  EXPECT_EQ(c.health.min_free_bytes, 512ull << 20);
  EXPECT_EQ(c.backup.schedule, "0 2 * * *");
  EXPECT_EQ(c.backup.retention_days, 7);
  EXPECT_EQ(CertFile(c), "./sicher-data/tls/cert.pem");
  EXPECT_EQ(KeyFile(c), "./sicher-data/tls/key.pem");
}

TEST(ConfigTest, DefaultsDocumentPassesCheckAndListsEveryKey) {
  const std::string doc = DefaultsToml();
  ASSERT_OK_AND_ASSIGN(Config c, ParseConfig(doc, "defaults.toml", {}));
  EXPECT_TRUE(c == Config{});
  for (const KeyInfo& k : Keys()) {
    EXPECT_TRUE(Contains(doc, k.EnvName())) << k.name;
    EXPECT_TRUE(Contains(doc, k.default_toml)) << k.name;
  }
  EXPECT_TRUE(Contains(doc, "public_listen = \"0.0.0.0:8443\""));
  EXPECT_TRUE(Contains(doc, "# [[backup.sites]]"));
  for (size_t start = 0, end; start < doc.size(); start = end + 1) {
    end = doc.find('\n', start);
    EXPECT_LE(end - start, 100u) << doc.substr(start, end - start);
  }
  // Uncommenting the example site gives a valid file too.
  std::string with_site = doc;
  for (const char* line : {"# [[backup.sites]]", "# name = ", "# path = "}) {
    with_site.replace(with_site.find(line), 2, "");
  }
  ASSERT_OK_AND_ASSIGN(Config site, ParseConfig(with_site, "defaults.toml", {}));
  ASSERT_EQ(site.backup.sites.size(), 1u);
  EXPECT_EQ(site.backup.sites[0].name, "offsite");
}

TEST(ConfigTest, ParsesEveryKey) {
  ASSERT_OK_AND_ASSIGN(Config c, ParseConfig(R"(
[server]
public_listen = "[::]:443"
operator_listen = "10.0.0.5:9443"
redirect_listen = "0.0.0.0:80"
tls_profile = "modern"
trusted_proxies = ["10.0.0.0/8", "::1"]
cert_file = "/etc/sicher/cert.pem"
key_file = "/etc/sicher/key.pem"
max_header_bytes = "32KiB"
max_body_bytes = 2097152
read_timeout = "30s"
idle_timeout = "2m"
handshake_timeout = "5s"
max_connections = 500
shutdown_grace = "1m30s"
io_threads = 2
worker_threads = 8
worker_queue = 64
cert_check_interval = "0"
ticket_key_rotation = "1h"

[database]
url = "postgresql://sicher@db1,db2/sicher?target_session_attrs=read-write"
readers = 8

[data]
dir = "/var/lib/sicher"

[log]
max_file_bytes = "1GiB"
retention_files = 0
stderr_level = "warn"

[health]
min_free_bytes = "1GB"

[backup]
schedule = "30 3 * * sun"
retention_days = 3

[[backup.sites]]
name = "site-a"
path = "/mnt/a"

[[backup.sites]]
name = "site-b"
path = "/mnt/b"
)",
                                             "full.toml", {}));
  EXPECT_EQ(c.server.public_listen, (HostPort{"::", 443}));
  EXPECT_EQ(c.server.operator_listen.ToString(), "10.0.0.5:9443");
  ASSERT_TRUE(c.server.redirect_listen.has_value());
  EXPECT_EQ(c.server.redirect_listen->port, 80);
  EXPECT_EQ(c.server.tls_profile, "modern");
  EXPECT_EQ(c.server.trusted_proxies, (std::vector<std::string>{"10.0.0.0/8", "::1/128"}));
  EXPECT_EQ(CertFile(c), "/etc/sicher/cert.pem");
  EXPECT_EQ(KeyFile(c), "/etc/sicher/key.pem");
  EXPECT_EQ(c.server.max_header_bytes, 32u * 1024);
  EXPECT_EQ(c.server.max_body_bytes, 2097152u);
  EXPECT_EQ(c.server.read_timeout, seconds(30));
  EXPECT_EQ(c.server.idle_timeout, minutes(2));
  EXPECT_EQ(c.server.handshake_timeout, seconds(5));
  EXPECT_EQ(c.server.max_connections, 500);
  EXPECT_EQ(c.server.shutdown_grace, seconds(90));
  EXPECT_EQ(c.server.io_threads, 2);
  EXPECT_EQ(c.server.worker_threads, 8);
  EXPECT_EQ(c.server.worker_queue, 64);
  EXPECT_EQ(c.server.cert_check_interval, milliseconds(0));
  EXPECT_EQ(c.server.ticket_key_rotation, hours(1));
  EXPECT_TRUE(Contains(c.database.url, "db1,db2"));
  EXPECT_EQ(c.database.readers, 8);
  EXPECT_EQ(c.data.dir, "/var/lib/sicher");
  EXPECT_EQ(c.log.max_file_bytes, 1ull << 30);
  EXPECT_EQ(c.log.retention_files, 0);
  EXPECT_EQ(c.log.stderr_level, "warn");
  EXPECT_EQ(c.health.min_free_bytes, 1'000'000'000u);
  EXPECT_EQ(c.backup.schedule, "30 3 * * sun");
  EXPECT_EQ(c.backup.retention_days, 3);
  EXPECT_EQ(c.backup.sites, (std::vector<BackupSite>{{"site-a", "/mnt/a"}, {"site-b", "/mnt/b"}}));
}

TEST(ConfigTest, UnknownKeysAreErrorsNamingTheKey) {
  std::string err = ErrorOf("[server]\npublic_listn = \"0.0.0.0:1\"\n");
  EXPECT_TRUE(Contains(err, "sicher.toml:2: server.public_listn: unknown key")) << err;
  EXPECT_TRUE(Contains(err, "did you mean server.public_listen?")) << err;
  err = ErrorOf("[serverr]\n");
  EXPECT_TRUE(Contains(err, "[serverr]: unknown section")) << err;
  err = ErrorOf("listen = 1\n");
  EXPECT_TRUE(Contains(err, "listen: unknown key")) << err;
  err = ErrorOf("[server.tls]\nx = 1\n");
  EXPECT_TRUE(Contains(err, "server.tls: unknown key")) << err;
  err = ErrorOf("[[backup.sites]]\nname = \"a\"\npath = \"/a\"\nkind = \"s3\"\n");
  EXPECT_TRUE(Contains(err, "backup.sites: [0].kind: unknown key")) << err;
}

TEST(ConfigTest, BadValuesNameTheKeyAndWhy) {
  struct Case {
    const char* toml;
    const char* expect;
  };
  const Case cases[] = {
      {"[server]\npublic_listen = \"8443\"", "server.public_listen: \"8443\" is not host:port"},
      {"[server]\npublic_listen = 8443",
       "server.public_listen: expected a string (host:port), "
       "got an integer"},
      {"[server]\nredirect_listen = \"::80\"", "server.redirect_listen: \"::80\" is not host:port"},
      {"[server]\ntls_profile = \"strong\"",
       "server.tls_profile: \"strong\" is not one of modern|intermediate|old"},
      {"[server]\ntrusted_proxies = \"10.0.0.0/8\"",
       "server.trusted_proxies: expected an array of strings"},
      {"[server]\ntrusted_proxies = [\"10.0.0.0/40\"]",
       "server.trusted_proxies: \"10.0.0.0/40\" is not a CIDR network"},
      {"[server]\ntrusted_proxies = [1]", "server.trusted_proxies: element 0 is an integer"},
      {"[server]\nmax_header_bytes = \"16 KB!\"",
       "server.max_header_bytes: \"16 KB!\" is not a size"},
      {"[server]\nmax_header_bytes = \"2MiB\"",
       "server.max_header_bytes: 2MiB is out of range 1KiB..1MiB"},
      {"[server]\nmax_body_bytes = -1", "server.max_body_bytes: -1 is negative"},
      {"[server]\nread_timeout = 10", "server.read_timeout: expected a string (duration"},
      {"[server]\nread_timeout = \"10\"", "server.read_timeout: \"10\" is not a duration"},
      {"[server]\nread_timeout = \"2h\"", "server.read_timeout: 2h is out of range 100ms..1h"},
      {"[server]\nmax_connections = 0", "server.max_connections: 0 is out of range 1..1000000"},
      {"[server]\nio_threads = 1.5", "server.io_threads: expected an integer"},
      {"[server]\nworker_queue = \"10\"", "server.worker_queue: expected an integer"},
      {"[database]\nreaders = 65", "database.readers: 65 is out of range 1..64"},
      {"[data]\ndir = \"\"", "data.dir: must not be empty"},
      {"[log]\nstderr_level = \"trace\"", "log.stderr_level: \"trace\" is not one of"},
      {"[log]\nretention_files = -1", "log.retention_files: -1 is out of range 0..1000"},
      {"[backup]\nschedule = \"0 2 * *\"", "backup.schedule: \"0 2 * *\" has 4 fields"},
      {"[backup]\nschedule = \"0 25 * * *\"", "backup.schedule: hour field \"25\""},
      {"[backup]\nretention_days = 8", "backup.retention_days: 8 is out of range 1..7"},
      {"[backup]\nretention_days = 0", "backup.retention_days: 0 is out of range 1..7"},
      {"[[backup.sites]]\nname = \"a\"", "backup.sites: [0] \"a\": path is missing"},
      {"[[backup.sites]]\npath = \"/a\"", "backup.sites: [0]: name is missing"},
      {"[[backup.sites]]\nname = \"a\"\npath = \"/a\"\n[[backup.sites]]\nname = \"a\"\npath = "
       "\"/b\"",
       "backup.sites: [1]: name \"a\" is used twice"},
      {"[[backup.sites]]\nname = \"a b\"\npath = \"/a\"", "may hold only letters"},
      {"[backup]\nsites = [\"x\"]", "backup.sites: [0] is a string, expected a table"},
  };
  for (const Case& c : cases) {
    const std::string err = ErrorOf(c.toml);
    EXPECT_TRUE(Contains(err, c.expect)) << c.toml << "\n  got: " << err;
  }
}

TEST(ConfigTest, ReportsEveryProblemAtOnce) {
  const std::string err =
      ErrorOf("[server]\nread_timeout = \"x\"\nbogus = 1\n[backup]\nretention_days = 30\n");
  EXPECT_TRUE(Contains(err, "3 problems:")) << err;
  EXPECT_TRUE(Contains(err, "sicher.toml:2: server.read_timeout")) << err;
  EXPECT_TRUE(Contains(err, "sicher.toml:3: server.bogus")) << err;
  EXPECT_TRUE(Contains(err, "sicher.toml:5: backup.retention_days")) << err;
}

TEST(ConfigTest, DatabaseUrlIsValidatedButNeverEchoed) {
  const std::string err = ErrorOf("[database]\nurl = \"mysql://root:hunter2@db/x\"\n");
  EXPECT_TRUE(Contains(err,
                       "database.url: must be empty (SQLite) or a URL starting with "
                       "postgresql://"))
      << err;
  EXPECT_FALSE(Contains(err, "hunter2"));
  EXPECT_EQ(ErrorOf("[database]\nurl = \"postgres://h/db\"\n"), "");
}

TEST(ConfigTest, CombinationsAreChecked) {
  EXPECT_TRUE(Contains(ErrorOf("[server]\ncert_file = \"/c.pem\"\n"),
                       "server.cert_file, server.key_file: set both"));
  EXPECT_TRUE(Contains(ErrorOf("[server]\noperator_listen = \"0.0.0.0:8443\"\n"),
                       "server.public_listen, server.operator_listen: both are 0.0.0.0:8443"));
  EXPECT_TRUE(Contains(ErrorOf("[server]\nredirect_listen = \"127.0.0.1:9443\"\n"),
                       "server.operator_listen, server.redirect_listen"));
  // Port 0 (tests) may repeat: the kernel picks distinct ports.
  EXPECT_EQ(ErrorOf("[server]\npublic_listen = \"127.0.0.1:0\"\n"
                    "operator_listen = \"127.0.0.1:0\"\n"),
            "");
}

TEST(ConfigTest, TomlSyntaxErrorsGiveLineAndColumn) {
  const std::string err = ErrorOf("[server]\npublic_listen = \n");
  EXPECT_TRUE(Contains(err, "sicher.toml:2:")) << err;
  EXPECT_TRUE(Contains(ErrorOf("[server]\nio_threads = 1\nio_threads = 2\n"), "sicher.toml:3:"));
}

TEST(ConfigTest, EnvironmentOverridesFile) {
  const Environ environ = {
      {"SICHER_SERVER_PUBLIC_LISTEN", "127.0.0.1:0"},
      {"SICHER_SERVER_TRUSTED_PROXIES", " 10.0.0.0/8, 192.168.0.0/16 ,"},
      {"SICHER_SERVER_READ_TIMEOUT", "3s"},
      {"SICHER_SERVER_MAX_CONNECTIONS", "7"},
      {"SICHER_SERVER_REDIRECT_LISTEN", ""},
      {"SICHER_LOG_MAX_FILE_BYTES", "1048576"},
      {"SICHER_BACKUP_SITES", "a=/mnt/a, b=/mnt/b"},
      {"HOME", "/root"},
  };
  ASSERT_OK_AND_ASSIGN(Config c, ParseConfig("[server]\npublic_listen = \"0.0.0.0:1\"\n"
                                             "redirect_listen = \"0.0.0.0:80\"\n",
                                             "f.toml", environ));
  EXPECT_EQ(c.server.public_listen.ToString(), "127.0.0.1:0");
  EXPECT_EQ(c.server.trusted_proxies, (std::vector<std::string>{"10.0.0.0/8", "192.168.0.0/16"}));
  EXPECT_EQ(c.server.read_timeout, seconds(3));
  EXPECT_EQ(c.server.max_connections, 7);
  EXPECT_FALSE(c.server.redirect_listen.has_value());
  EXPECT_EQ(c.log.max_file_bytes, 1u << 20);
  EXPECT_EQ(c.backup.sites, (std::vector<BackupSite>{{"a", "/mnt/a"}, {"b", "/mnt/b"}}));
}

TEST(ConfigTest, EnvironmentErrorsNameVariableAndKey) {
  std::string err = ErrorOf("", {{"SICHER_SERVER_MAX_CONNECTIONS", "many"}});
  EXPECT_TRUE(Contains(err,
                       "environment SICHER_SERVER_MAX_CONNECTIONS "
                       "(server.max_connections): \"many\" is not an integer"))
      << err;
  err = ErrorOf("", {{"SICHER_BACKUP_SITES", "nopath"}});
  EXPECT_TRUE(Contains(err, "SICHER_BACKUP_SITES (backup.sites): \"nopath\" is not name=path"))
      << err;
}

TEST(ConfigTest, SicherDataSetsDataDir) {
  ASSERT_OK_AND_ASSIGN(Config c,
                       ParseConfig("[data]\ndir = \"/x\"\n", "f", {{"SICHER_DATA", "/d"}}));
  EXPECT_EQ(c.data.dir, "/d");
  ASSERT_OK_AND_ASSIGN(c, ParseConfig("", "f", {{"SICHER_DATA_DIR", "/e"}}));
  EXPECT_EQ(c.data.dir, "/e");
  EXPECT_TRUE(
      Contains(ErrorOf("", {{"SICHER_DATA", "/d"}, {"SICHER_DATA_DIR", "/e"}}), "disagree"));
  EXPECT_EQ(ErrorOf("", {{"SICHER_DATA", "/d"}, {"SICHER_DATA_DIR", "/d"}}), "");
}

TEST(ConfigTest, UnknownEnvironmentVariablesAreListedNotErrors) {
  const Environ environ = {{"SICHER_SERVER_PUBLIC_LISTN", "x"},
                           {"SICHER_DATA", "/d"},
                           {"SICHER_LOG_STDERR_LEVEL", "warn"},
                           {"PATH", "/bin"}};
  EXPECT_EQ(ErrorOf("", environ), "");
  EXPECT_EQ(UnknownEnvironmentVariables(environ),
            std::vector<std::string>{"SICHER_SERVER_PUBLIC_LISTN"});
}

class LoadConfigTest : public ::testing::Test {
 protected:
  testing::FakeClock clock_;
  testing::MemFileSystem fs_{clock_};
  testing::SeededRandom random_;
  Env env_{clock_, fs_, random_};
};

TEST_F(LoadConfigTest, ReadsFileThroughEnv) {
  ASSERT_OK(fs_.CreateDirs("/etc", 0755));
  ASSERT_OK(fs_.WriteFileAtomic("/etc/sicher.toml", "[database]\nreaders = 2\n", 0644));
  ASSERT_OK_AND_ASSIGN(Config c,
                       LoadConfig(env_, "/etc/sicher.toml", {{"SICHER_DATABASE_READERS", "3"}}));
  EXPECT_EQ(c.database.readers, 3);
  ASSERT_OK_AND_ASSIGN(c, LoadConfig(env_, std::nullopt, {}));
  EXPECT_TRUE(c == Config{});
  ASSERT_OK(CheckConfigFile(env_, "/etc/sicher.toml"));
}

TEST_F(LoadConfigTest, MissingFileIsNotFound) {
  Result<Config> r = LoadConfig(env_, "/nope.toml", {});
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(r.status().message(), "/nope.toml"));
}

TEST_F(LoadConfigTest, CheckIgnoresEnvironmentAndReportsFileName) {
  ASSERT_OK(fs_.WriteFileAtomic("bad.toml", "[log]\nstderr_level = \"loud\"\n", 0644));
  Status s = CheckConfigFile(env_, "bad.toml");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(s.message(), "bad.toml:2: log.stderr_level")) << s.message();
}

}  // namespace
}  // namespace sicher::config
