/* Linked into the static builds only (scripts/build-static.sh, with ld's --wrap for each
 * function below). sodium_init() picks the fastest implementation of every primitive
 * libsodium has, which links all of them: Argon2, BLAKE2b, Curve25519 and Salsa20, about
 * 100 KB that ufrpc never calls (it uses the AEADs ChaCha20-Poly1305 and AES-256-GCM
 * only, whose pickers still run). Skipping these four pickers leaves those primitives
 * on their portable default implementation, so they would still work if called. */
int __wrap__crypto_pwhash_argon2_pick_best_implementation(void);
int __wrap__crypto_generichash_blake2b_pick_best_implementation(void);
int __wrap__crypto_scalarmult_curve25519_pick_best_implementation(void);
int __wrap__crypto_stream_salsa20_pick_best_implementation(void);

int __wrap__crypto_pwhash_argon2_pick_best_implementation(void)
{
    return 0;
}

int __wrap__crypto_generichash_blake2b_pick_best_implementation(void)
{
    return 0;
}

int __wrap__crypto_scalarmult_curve25519_pick_best_implementation(void)
{
    return 0;
}

int __wrap__crypto_stream_salsa20_pick_best_implementation(void)
{
    return 0;
}
