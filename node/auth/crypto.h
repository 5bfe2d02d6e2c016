// The few cryptographic primitives the node's authentication is built from, all libsodium:
// random bytes, HMAC-SHA-256, SHA-256, constant-time comparison, base64url, and Argon2id
// password hashes (crypto_pwhash_str).
//
// Keys are raw bytes held in std::string. Nothing here logs; a caller never logs a key, a
// password, a password hash or a token either.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "node/core/status.h"

namespace fvce::auth {

// Initialises libsodium (idempotent, thread-safe). False when the library cannot start.
bool crypto_ready();

// n bytes from the operating system's random source.
std::string random_bytes(std::size_t n);
// 2n lower-case hex digits of n random bytes (nonces, token ids).
std::string random_hex(std::size_t n);

std::string hmac_sha256(std::string_view key, std::string_view message);  // 32 bytes
std::string sha256(std::string_view data);                                // 32 bytes
// A key for one purpose derived from a master key: HMAC(master, "fvce/" + purpose).
std::string derive_key(std::string_view master, std::string_view purpose);

bool equal_constant_time(std::string_view a, std::string_view b);

std::string to_hex(std::string_view bytes);
// Nullopt-like: an error Status when text is not an even run of hex digits.
Result<std::string> from_hex(std::string_view text);
std::string base64url(std::string_view bytes);  // no padding
Result<std::string> from_base64url(std::string_view text);

// Argon2id (libsodium's "interactive" limits: 2 passes over 64 MiB). The result is the
// self-describing "$argon2id$v=19$m=...,t=...,p=...$salt$hash" string.
Result<std::string> hash_password(std::string_view password);
bool verify_password(std::string_view password, const std::string& hash);

// Reads a federation secret file: hex of at least 32 bytes (as `fvce ca init` writes it),
// whitespace around it ignored. Errors name the file.
Result<std::string> load_secret(const std::string& path);

}  // namespace fvce::auth
