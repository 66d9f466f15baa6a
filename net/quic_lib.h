/* ufrpc — the QUIC stack's functions (libngtcp2, libngtcp2_crypto_gnutls, GnuTLS),
 * loaded at the first QUIC session or listener instead of at start-up.
 *
 * With UFRPC_QUIC_DLOPEN=1 (CMake option UFRPC_QUIC_LINK=dlopen, the default for a
 * shared build) ufrpc has no DT_NEEDED entry for these libraries: a configuration
 * without transport.protocol = "quic" or an xtcp proxy/visitor never maps them, nor
 * runs GnuTLS's implicit global init (system priority file, RNG, p11-kit): ~2.4 MB
 * of an idle client's resident pages (bench/README.md "Memory: where it goes").
 * net/quic.c, which includes this header after the libraries' own headers, then
 * calls every library function through the table below (the #defines at the end);
 * its code is the same in both modes. With UFRPC_QUIC_DLOPEN=0 (static builds,
 * UFRPC_QUIC_LINK=link) the libraries are linked as usual, ufrpc_quic_lib_load
 * always succeeds and nothing is redirected.
 *
 * The table is a once-initialised immutable one: ufrpc_quic_lib_load fills it under
 * uv_once the first time it is called (from any thread), and it is never written
 * again. The libraries loaded are process-wide state of the dynamic loader anyway,
 * which this table only mirrors (as the GOT entries the loader fills at start-up for
 * a linked library do); it is read only after ufrpc_quic_lib_load returned 0. The
 * libraries stay loaded until exit. */
#ifndef UFRPC_NET_QUIC_LIB_H
#define UFRPC_NET_QUIC_LIB_H

/* 0 when the QUIC libraries are usable (loading them the first time), else
 * UFRPC_ERR_UNSUPPORTED (also when QUIC is not built in); the same answer at every
 * call. */
int ufrpc_quic_lib_load(void);

/* Why ufrpc_quic_lib_load failed ("cannot load libngtcp2.so.9: ...", "QUIC support
 * is not built in"), or "" when it did not fail (or was not called yet). Static. */
const char *ufrpc_quic_lib_error(void);

#if defined(UFRPC_QUIC_DLOPEN) && UFRPC_QUIC_DLOPEN && defined(NGTCP2_VERSION) && \
    defined(GNUTLS_VERSION)

/* every library function net/quic.c uses (`nm -u quic.c.o`: a missing one fails its
 * link; the _versioned names are what ngtcp2.h's macros call) */
#define UFRPC_QUIC_SYMS(X) \
    X(gnutls_alert_get_strname) \
    X(gnutls_alpn_set_protocols) \
    X(gnutls_certificate_allocate_credentials) \
    X(gnutls_certificate_free_credentials) \
    X(gnutls_certificate_set_x509_key) \
    X(gnutls_certificate_set_x509_key_file) \
    X(gnutls_certificate_set_x509_trust_file) \
    X(gnutls_credentials_set) \
    X(gnutls_deinit) \
    X(gnutls_ext_raw_parse) \
    X(gnutls_handshake_set_hook_function) \
    X(gnutls_init) \
    X(gnutls_priority_set_direct) \
    X(gnutls_rnd) \
    X(gnutls_server_name_set) \
    X(gnutls_session_ext_register) \
    X(gnutls_session_get_ptr) \
    X(gnutls_session_set_ptr) \
    X(gnutls_session_set_verify_cert) \
    X(gnutls_x509_crt_deinit) \
    X(gnutls_x509_crt_init) \
    X(gnutls_x509_crt_set_activation_time) \
    X(gnutls_x509_crt_set_dn_by_oid) \
    X(gnutls_x509_crt_set_expiration_time) \
    X(gnutls_x509_crt_set_key) \
    X(gnutls_x509_crt_set_serial) \
    X(gnutls_x509_crt_set_version) \
    X(gnutls_x509_crt_sign2) \
    X(gnutls_x509_privkey_deinit) \
    X(gnutls_x509_privkey_generate) \
    X(gnutls_x509_privkey_init) \
    X(ngtcp2_accept) \
    X(ngtcp2_conn_client_new_versioned) \
    X(ngtcp2_conn_del) \
    X(ngtcp2_conn_extend_max_offset) \
    X(ngtcp2_conn_extend_max_stream_offset) \
    X(ngtcp2_conn_extend_max_streams_bidi) \
    X(ngtcp2_conn_get_conn_stat_versioned) \
    X(ngtcp2_conn_get_connection_close_error) \
    X(ngtcp2_conn_get_expiry) \
    X(ngtcp2_conn_get_max_stream_data_left) \
    X(ngtcp2_conn_get_path_max_tx_udp_payload_size) \
    X(ngtcp2_conn_get_send_quantum) \
    X(ngtcp2_conn_get_tls_alert) \
    X(ngtcp2_conn_handle_expiry) \
    X(ngtcp2_conn_is_local_stream) \
    X(ngtcp2_conn_open_bidi_stream) \
    X(ngtcp2_conn_read_pkt_versioned) \
    X(ngtcp2_conn_server_new_versioned) \
    X(ngtcp2_conn_set_keep_alive_timeout) \
    X(ngtcp2_conn_set_stream_user_data) \
    X(ngtcp2_conn_set_tls_native_handle) \
    X(ngtcp2_conn_shutdown_stream) \
    X(ngtcp2_conn_update_pkt_tx_time) \
    X(ngtcp2_conn_write_connection_close_versioned) \
    X(ngtcp2_conn_writev_stream_versioned) \
    X(ngtcp2_connection_close_error_default) \
    X(ngtcp2_connection_close_error_set_transport_error_liberr) \
    X(ngtcp2_connection_close_error_set_transport_error_tls_alert) \
    X(ngtcp2_crypto_client_initial_cb) \
    X(ngtcp2_crypto_decrypt_cb) \
    X(ngtcp2_crypto_delete_crypto_aead_ctx_cb) \
    X(ngtcp2_crypto_delete_crypto_cipher_ctx_cb) \
    X(ngtcp2_crypto_encrypt_cb) \
    X(ngtcp2_crypto_get_path_challenge_data_cb) \
    X(ngtcp2_crypto_gnutls_configure_client_session) \
    X(ngtcp2_crypto_gnutls_configure_server_session) \
    X(ngtcp2_crypto_hp_mask_cb) \
    X(ngtcp2_crypto_recv_client_initial_cb) \
    X(ngtcp2_crypto_recv_crypto_data_cb) \
    X(ngtcp2_crypto_recv_retry_cb) \
    X(ngtcp2_crypto_update_key_cb) \
    X(ngtcp2_crypto_version_negotiation_cb) \
    X(ngtcp2_is_bidi_stream) \
    X(ngtcp2_path_storage_zero) \
    X(ngtcp2_pkt_decode_version_cid) \
    X(ngtcp2_pkt_write_version_negotiation) \
    X(ngtcp2_settings_default_versioned) \
    X(ngtcp2_strerror) \
    X(ngtcp2_transport_params_default_versioned) \

struct ufrpc_quic_lib {
#define UFRPC_QUIC_SYM_(name) __typeof__(name) *name;
    UFRPC_QUIC_SYMS(UFRPC_QUIC_SYM_)
#undef UFRPC_QUIC_SYM_
};

/* The table; valid (every member set) once ufrpc_quic_lib_load returned 0. */
const struct ufrpc_quic_lib *ufrpc_quic_lib(void);

#ifndef UFRPC_QUIC_LIB_IMPL
/* net/quic.c: each call reaches the loaded library through the table */
#define gnutls_alert_get_strname (ufrpc_quic_lib()->gnutls_alert_get_strname)
#define gnutls_alpn_set_protocols (ufrpc_quic_lib()->gnutls_alpn_set_protocols)
#define gnutls_certificate_allocate_credentials (ufrpc_quic_lib()->gnutls_certificate_allocate_credentials)
#define gnutls_certificate_free_credentials (ufrpc_quic_lib()->gnutls_certificate_free_credentials)
#define gnutls_certificate_set_x509_key (ufrpc_quic_lib()->gnutls_certificate_set_x509_key)
#define gnutls_certificate_set_x509_key_file (ufrpc_quic_lib()->gnutls_certificate_set_x509_key_file)
#define gnutls_certificate_set_x509_trust_file (ufrpc_quic_lib()->gnutls_certificate_set_x509_trust_file)
#define gnutls_credentials_set (ufrpc_quic_lib()->gnutls_credentials_set)
#define gnutls_deinit (ufrpc_quic_lib()->gnutls_deinit)
#define gnutls_ext_raw_parse (ufrpc_quic_lib()->gnutls_ext_raw_parse)
#define gnutls_handshake_set_hook_function (ufrpc_quic_lib()->gnutls_handshake_set_hook_function)
#define gnutls_init (ufrpc_quic_lib()->gnutls_init)
#define gnutls_priority_set_direct (ufrpc_quic_lib()->gnutls_priority_set_direct)
#define gnutls_rnd (ufrpc_quic_lib()->gnutls_rnd)
#define gnutls_server_name_set (ufrpc_quic_lib()->gnutls_server_name_set)
#define gnutls_session_ext_register (ufrpc_quic_lib()->gnutls_session_ext_register)
#define gnutls_session_get_ptr (ufrpc_quic_lib()->gnutls_session_get_ptr)
#define gnutls_session_set_ptr (ufrpc_quic_lib()->gnutls_session_set_ptr)
#define gnutls_session_set_verify_cert (ufrpc_quic_lib()->gnutls_session_set_verify_cert)
#define gnutls_x509_crt_deinit (ufrpc_quic_lib()->gnutls_x509_crt_deinit)
#define gnutls_x509_crt_init (ufrpc_quic_lib()->gnutls_x509_crt_init)
#define gnutls_x509_crt_set_activation_time (ufrpc_quic_lib()->gnutls_x509_crt_set_activation_time)
#define gnutls_x509_crt_set_dn_by_oid (ufrpc_quic_lib()->gnutls_x509_crt_set_dn_by_oid)
#define gnutls_x509_crt_set_expiration_time (ufrpc_quic_lib()->gnutls_x509_crt_set_expiration_time)
#define gnutls_x509_crt_set_key (ufrpc_quic_lib()->gnutls_x509_crt_set_key)
#define gnutls_x509_crt_set_serial (ufrpc_quic_lib()->gnutls_x509_crt_set_serial)
#define gnutls_x509_crt_set_version (ufrpc_quic_lib()->gnutls_x509_crt_set_version)
#define gnutls_x509_crt_sign2 (ufrpc_quic_lib()->gnutls_x509_crt_sign2)
#define gnutls_x509_privkey_deinit (ufrpc_quic_lib()->gnutls_x509_privkey_deinit)
#define gnutls_x509_privkey_generate (ufrpc_quic_lib()->gnutls_x509_privkey_generate)
#define gnutls_x509_privkey_init (ufrpc_quic_lib()->gnutls_x509_privkey_init)
#define ngtcp2_accept (ufrpc_quic_lib()->ngtcp2_accept)
#define ngtcp2_conn_client_new_versioned (ufrpc_quic_lib()->ngtcp2_conn_client_new_versioned)
#define ngtcp2_conn_del (ufrpc_quic_lib()->ngtcp2_conn_del)
#define ngtcp2_conn_extend_max_offset (ufrpc_quic_lib()->ngtcp2_conn_extend_max_offset)
#define ngtcp2_conn_extend_max_stream_offset (ufrpc_quic_lib()->ngtcp2_conn_extend_max_stream_offset)
#define ngtcp2_conn_extend_max_streams_bidi (ufrpc_quic_lib()->ngtcp2_conn_extend_max_streams_bidi)
#define ngtcp2_conn_get_conn_stat_versioned (ufrpc_quic_lib()->ngtcp2_conn_get_conn_stat_versioned)
#define ngtcp2_conn_get_connection_close_error (ufrpc_quic_lib()->ngtcp2_conn_get_connection_close_error)
#define ngtcp2_conn_get_expiry (ufrpc_quic_lib()->ngtcp2_conn_get_expiry)
#define ngtcp2_conn_get_max_stream_data_left (ufrpc_quic_lib()->ngtcp2_conn_get_max_stream_data_left)
#define ngtcp2_conn_get_path_max_tx_udp_payload_size (ufrpc_quic_lib()->ngtcp2_conn_get_path_max_tx_udp_payload_size)
#define ngtcp2_conn_get_send_quantum (ufrpc_quic_lib()->ngtcp2_conn_get_send_quantum)
#define ngtcp2_conn_get_tls_alert (ufrpc_quic_lib()->ngtcp2_conn_get_tls_alert)
#define ngtcp2_conn_handle_expiry (ufrpc_quic_lib()->ngtcp2_conn_handle_expiry)
#define ngtcp2_conn_is_local_stream (ufrpc_quic_lib()->ngtcp2_conn_is_local_stream)
#define ngtcp2_conn_open_bidi_stream (ufrpc_quic_lib()->ngtcp2_conn_open_bidi_stream)
#define ngtcp2_conn_read_pkt_versioned (ufrpc_quic_lib()->ngtcp2_conn_read_pkt_versioned)
#define ngtcp2_conn_server_new_versioned (ufrpc_quic_lib()->ngtcp2_conn_server_new_versioned)
#define ngtcp2_conn_set_keep_alive_timeout (ufrpc_quic_lib()->ngtcp2_conn_set_keep_alive_timeout)
#define ngtcp2_conn_set_stream_user_data (ufrpc_quic_lib()->ngtcp2_conn_set_stream_user_data)
#define ngtcp2_conn_set_tls_native_handle (ufrpc_quic_lib()->ngtcp2_conn_set_tls_native_handle)
#define ngtcp2_conn_shutdown_stream (ufrpc_quic_lib()->ngtcp2_conn_shutdown_stream)
#define ngtcp2_conn_update_pkt_tx_time (ufrpc_quic_lib()->ngtcp2_conn_update_pkt_tx_time)
#define ngtcp2_conn_write_connection_close_versioned (ufrpc_quic_lib()->ngtcp2_conn_write_connection_close_versioned)
#define ngtcp2_conn_writev_stream_versioned (ufrpc_quic_lib()->ngtcp2_conn_writev_stream_versioned)
#define ngtcp2_connection_close_error_default (ufrpc_quic_lib()->ngtcp2_connection_close_error_default)
#define ngtcp2_connection_close_error_set_transport_error_liberr (ufrpc_quic_lib()->ngtcp2_connection_close_error_set_transport_error_liberr)
#define ngtcp2_connection_close_error_set_transport_error_tls_alert (ufrpc_quic_lib()->ngtcp2_connection_close_error_set_transport_error_tls_alert)
#define ngtcp2_crypto_client_initial_cb (ufrpc_quic_lib()->ngtcp2_crypto_client_initial_cb)
#define ngtcp2_crypto_decrypt_cb (ufrpc_quic_lib()->ngtcp2_crypto_decrypt_cb)
#define ngtcp2_crypto_delete_crypto_aead_ctx_cb (ufrpc_quic_lib()->ngtcp2_crypto_delete_crypto_aead_ctx_cb)
#define ngtcp2_crypto_delete_crypto_cipher_ctx_cb (ufrpc_quic_lib()->ngtcp2_crypto_delete_crypto_cipher_ctx_cb)
#define ngtcp2_crypto_encrypt_cb (ufrpc_quic_lib()->ngtcp2_crypto_encrypt_cb)
#define ngtcp2_crypto_get_path_challenge_data_cb (ufrpc_quic_lib()->ngtcp2_crypto_get_path_challenge_data_cb)
#define ngtcp2_crypto_gnutls_configure_client_session (ufrpc_quic_lib()->ngtcp2_crypto_gnutls_configure_client_session)
#define ngtcp2_crypto_gnutls_configure_server_session (ufrpc_quic_lib()->ngtcp2_crypto_gnutls_configure_server_session)
#define ngtcp2_crypto_hp_mask_cb (ufrpc_quic_lib()->ngtcp2_crypto_hp_mask_cb)
#define ngtcp2_crypto_recv_client_initial_cb (ufrpc_quic_lib()->ngtcp2_crypto_recv_client_initial_cb)
#define ngtcp2_crypto_recv_crypto_data_cb (ufrpc_quic_lib()->ngtcp2_crypto_recv_crypto_data_cb)
#define ngtcp2_crypto_recv_retry_cb (ufrpc_quic_lib()->ngtcp2_crypto_recv_retry_cb)
#define ngtcp2_crypto_update_key_cb (ufrpc_quic_lib()->ngtcp2_crypto_update_key_cb)
#define ngtcp2_crypto_version_negotiation_cb (ufrpc_quic_lib()->ngtcp2_crypto_version_negotiation_cb)
#define ngtcp2_is_bidi_stream (ufrpc_quic_lib()->ngtcp2_is_bidi_stream)
#define ngtcp2_path_storage_zero (ufrpc_quic_lib()->ngtcp2_path_storage_zero)
#define ngtcp2_pkt_decode_version_cid (ufrpc_quic_lib()->ngtcp2_pkt_decode_version_cid)
#define ngtcp2_pkt_write_version_negotiation (ufrpc_quic_lib()->ngtcp2_pkt_write_version_negotiation)
#define ngtcp2_settings_default_versioned (ufrpc_quic_lib()->ngtcp2_settings_default_versioned)
#define ngtcp2_strerror (ufrpc_quic_lib()->ngtcp2_strerror)
#define ngtcp2_transport_params_default_versioned (ufrpc_quic_lib()->ngtcp2_transport_params_default_versioned)
#endif /* !UFRPC_QUIC_LIB_IMPL */

#endif /* UFRPC_QUIC_DLOPEN */

#endif
