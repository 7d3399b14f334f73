// OpenSSL's libcrypto (Debian libssl-dev, already required by libssh2-1-dev): only its SHA-256 digest is used,
// for the hardware-accelerated (SHA-NI / ARMv8) implementation.
#include <openssl/evp.h>
