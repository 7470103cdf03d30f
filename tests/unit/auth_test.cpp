#include <gtest/gtest.h>

#include "tandem/api/auth.h"

using tandem::api::Authenticator;
using tandem::config::ClientKey;

namespace {

const std::vector<ClientKey> kKeys = {
    {"app", "app-key-0123456789abcdef"},
    {"ops", "ops-key-fedcba9876543210"},
    {"long", "tk-" + std::string(200, 'z')},
};

}  // namespace

TEST(Auth, ValidBearerKeyReturnsItsName) {
  Authenticator auth(kKeys);
  EXPECT_TRUE(auth.enabled());
  EXPECT_EQ(auth.authenticate("Bearer app-key-0123456789abcdef"), "app");
  EXPECT_EQ(auth.authenticate("Bearer ops-key-fedcba9876543210"), "ops");
  EXPECT_EQ(auth.authenticate("Bearer tk-" + std::string(200, 'z')), "long");
}

TEST(Auth, WrongKeyIsRejected) {
  Authenticator auth(kKeys);
  EXPECT_EQ(auth.authenticate("Bearer app-key-0123456789abcdeF"), std::nullopt);
  EXPECT_EQ(auth.authenticate("Bearer nope"), std::nullopt);
  EXPECT_EQ(auth.authenticate("Bearer app-key-0123456789abcdef "), std::nullopt);
  EXPECT_EQ(auth.authenticate("Bearer  app-key-0123456789abcdef"), std::nullopt);
  EXPECT_EQ(auth.authenticate("Bearer app-key-0123456789abcdefX"), std::nullopt);
}

TEST(Auth, PrefixOfAValidKeyIsRejected) {
  Authenticator auth(kKeys);
  std::string key = kKeys[0].key;
  for (std::size_t n = 1; n < key.size(); ++n) {
    EXPECT_EQ(auth.authenticate("Bearer " + key.substr(0, n)), std::nullopt) << n;
  }
}

TEST(Auth, MissingOrMalformedHeader) {
  Authenticator auth(kKeys);
  const std::string key = kKeys[0].key;
  EXPECT_EQ(auth.authenticate(""), std::nullopt);
  EXPECT_EQ(auth.authenticate("Bearer"), std::nullopt);
  EXPECT_EQ(auth.authenticate("Bearer "), std::nullopt);
  EXPECT_EQ(auth.authenticate(key), std::nullopt);  // no scheme
  EXPECT_EQ(auth.authenticate("Basic " + key), std::nullopt);
  EXPECT_EQ(auth.authenticate("Bearer:" + key), std::nullopt);
  EXPECT_EQ(auth.authenticate("Bearer\t" + key), std::nullopt);
  EXPECT_EQ(auth.authenticate(" Bearer " + key), std::nullopt);
  EXPECT_EQ(auth.authenticate("Token " + key), std::nullopt);
  EXPECT_EQ(auth.authenticate("BEARER " + key), std::nullopt);
}

TEST(Auth, LowercaseBearerIsAccepted) {
  Authenticator auth(kKeys);
  EXPECT_EQ(auth.authenticate("bearer app-key-0123456789abcdef"), "app");
  EXPECT_EQ(auth.authenticate("bearer ops-key-fedcba9876543210"), "ops");
}

TEST(Auth, SeveralKeysAreIndependent) {
  Authenticator auth(kKeys);
  // Every key returns its own name, never another's.
  for (const auto& k : kKeys) EXPECT_EQ(auth.authenticate("Bearer " + k.key), k.name);
  // A single-key authenticator only knows its own key.
  Authenticator only_ops({kKeys[1]});
  EXPECT_EQ(only_ops.authenticate("Bearer " + kKeys[1].key), "ops");
  EXPECT_EQ(only_ops.authenticate("Bearer " + kKeys[0].key), std::nullopt);
}

TEST(Auth, NoKeysMeansDisabledAndNothingAuthenticates) {
  Authenticator auth({});
  EXPECT_FALSE(auth.enabled());
  EXPECT_EQ(auth.authenticate("Bearer anything-at-all-1234"), std::nullopt);
  EXPECT_EQ(auth.authenticate("Bearer "), std::nullopt);
}

TEST(Auth, KeysWithBinaryBytes) {
  std::string key("k\0ey-with-a-nul-byte", 20);
  Authenticator auth({ClientKey{"nul", key}});
  EXPECT_EQ(auth.authenticate("Bearer " + key), "nul");
  EXPECT_EQ(auth.authenticate("Bearer k"), std::nullopt);  // stops at the NUL in C strings
}
