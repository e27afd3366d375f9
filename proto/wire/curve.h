/* curve.h: CURVE key files and socket setup shared by broker, worker and client.
 *
 * A key file is text whose first line is a 40-character Z85 key (ZeroMQ's encoding of 32
 * bytes, in the alphabet 0-9 a-z A-Z and .-:+=^!/ *?&<>()[]{}@%$# without the space).
 * The line may end in "\n" or
 * "\r\n"; later lines are ignored (room for a comment). `ganq keygen` writes NAME.pub (the
 * public key) and NAME.secret (the secret key, mode 0600). A secret file holds only the
 * secret key; the public key is derived from it (zmq_curve_public).
 *
 * Every error names the file and what was wrong ("keys/a.pub: first line has 39
 * characters; a Z85 CURVE key has 40").
 */
#ifndef GQ_WIRE_CURVE_H
#define GQ_WIRE_CURVE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/base/gq_status.h"

#define WIRE_CURVE_KEY_LEN 32   /* raw key bytes */
#define WIRE_CURVE_Z85_LEN 40   /* Z85 characters */
#define WIRE_CURVE_FILE_MAX 4096 /* key files larger than this are refused */

/* A CURVE identity: our secret and public key. */
typedef struct wire_curve_pair {
    uint8_t pub[WIRE_CURVE_KEY_LEN];
    uint8_t sec[WIRE_CURVE_KEY_LEN];
} wire_curve_pair;

/* Client side: the broker's public key and our own pair. */
typedef struct wire_curve_client {
    uint8_t         server_pub[WIRE_CURVE_KEY_LEN];
    wire_curve_pair self;
} wire_curve_client;

/* Parse the text of a key file (len bytes, need not be NUL-terminated); name is used in
 * messages. OUT: key. Returns 0 or GQ_EFORMAT. */
int wire_curve_key_parse(const char *text, size_t len, const char *name,
                         uint8_t key[WIRE_CURVE_KEY_LEN], gq_error *err);

/* Read and parse the key file at path. Returns 0, GQ_ENOTFOUND / GQ_EIO (cannot read) or
 * GQ_EFORMAT. */
int wire_curve_key_load(const char *path, uint8_t key[WIRE_CURVE_KEY_LEN], gq_error *err);

/* Load a secret key file and derive its public key. Returns as wire_curve_key_load. */
int wire_curve_secret_load(const char *path, wire_curve_pair *out, gq_error *err);

/* Load both files of a CURVE client (broker public key, own secret). Returns as above. */
int wire_curve_client_load(const char *broker_key_path, const char *secret_path,
                           wire_curve_client *out, gq_error *err);

/* Z85 text of key into out (41 bytes, NUL-terminated). */
void wire_curve_z85(const uint8_t key[WIRE_CURVE_KEY_LEN], char out[WIRE_CURVE_Z85_LEN + 1]);

/* Short fingerprint for logs: hex of the key's first 8 bytes (17 bytes with NUL). */
void wire_curve_fingerprint(const uint8_t key[WIRE_CURVE_KEY_LEN], char out[17]);

/* Make sock a CURVE server with secret sec / a CURVE client of c. Call before bind /
 * connect. Returns 0 or GQ_ENET (err says which option failed). */
int wire_curve_server_setup(void *sock, const uint8_t sec[WIRE_CURVE_KEY_LEN], gq_error *err);
int wire_curve_client_setup(void *sock, const wire_curve_client *c, gq_error *err);

/* Generate a key pair and write DIR/NAME.pub (0644) and DIR/NAME.secret (0600). Existing
 * files are not overwritten (GQ_EEXIST). OUT: *pub_path / *sec_path when non-NULL
 * (malloc'd). Returns 0, GQ_EEXIST, GQ_EIO, GQ_ENOMEM or GQ_EUNSUPPORTED (no CURVE). */
int wire_curve_keygen(const char *dir, const char *name, char **pub_path, char **sec_path,
                      gq_error *err);

#endif
