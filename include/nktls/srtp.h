/* srtp.h — SRTP and SRTCP packet protection (RFC 3711, RFC 7714), an nktls
 * extension in the NanoSSL style: calls return OK (0) or a negative MSTATUS.
 *
 * A session protects one direction of one media flow with one master key:
 * NKTLS_SRTP_OUTBOUND sessions protect, NKTLS_SRTP_INBOUND sessions
 * unprotect. DTLS-SRTP (RFC 5764) gives each side two master keys: split the
 * exporter's output with NKTLS_srtpSplitKeyingMaterial and make one session
 * per direction. Packets are protected in place; a session keeps one stream
 * context (rollover counter, replay window) per SSRC, made when the first
 * packet of that SSRC authenticates (or is protected). A session is not
 * thread-safe: one thread at a time per session.
 *
 * Every packet that fails to authenticate — a changed byte anywhere, a wrong
 * key, a wrong MKI — is refused with ERR_SRTP_AUTH_FAILED; a packet seen
 * before or older than the replay window with ERR_SRTP_REPLAY; one too short
 * for its header and tag, longer than 65535 bytes, or not RTP/RTCP version 2,
 * with ERR_SRTP_MALFORMED.
 * A refused packet changes no stream state; its payload bytes may have been
 * overwritten (never with unauthenticated plaintext). */
#ifndef NKTLS_SRTP_H
#define NKTLS_SRTP_H

#include "common/mtypes.h"
#include "common/merrors.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Protection profiles, by their DTLS-SRTP values (RFC 5764 §4.1.2, RFC 7714
 * §14.2; the same numbers as ssl/ssl.h's SRTP_*):
 *   AES128_CM_HMAC_SHA1_80  AES-128 counter mode, HMAC-SHA1 tag of 10 bytes
 *   AES128_CM_HMAC_SHA1_32  the same with a 4-byte SRTP tag (SRTCP keeps 10)
 *   AEAD_AES_128_GCM        AES-128-GCM, 16-byte tag (RFC 7714)
 *   AEAD_AES_256_GCM        AES-256-GCM, 16-byte tag (RFC 7714) */
#define NKTLS_SRTP_AES128_CM_HMAC_SHA1_80 0x0001
#define NKTLS_SRTP_AES128_CM_HMAC_SHA1_32 0x0002
#define NKTLS_SRTP_AEAD_AES_128_GCM       0x0007
#define NKTLS_SRTP_AEAD_AES_256_GCM       0x0008

#define NKTLS_SRTP_INBOUND  0    /* unprotects what the peer sent */
#define NKTLS_SRTP_OUTBOUND 1    /* protects what we send */

#define NKTLS_SRTP_MAX_KEY  32   /* master key bytes, the longest profile's */
#define NKTLS_SRTP_MAX_SALT 14   /* master salt bytes, the longest profile's */
#define NKTLS_SRTP_MAX_MKI  128  /* master key identifier bytes */
/* SSRCs one session keeps stream contexts for unless NKTLS_srtpSetMaxStreams
 * says otherwise: a peer sending packets under new SSRCs cannot make a session
 * hold more. */
#define NKTLS_SRTP_DEFAULT_MAX_STREAMS 32
#define NKTLS_SRTP_REPLAY_WINDOW       64   /* packets, SRTP and SRTCP (RFC 3711 §3.3.2) */

/* What a profile needs and adds. keyingMaterialLen is the DTLS exporter output
 * DTLS-SRTP asks for: 2 * (keyLen + saltLen) (RFC 5764 §4.2). The bytes a
 * protected packet grows by are rtpTagLen (SRTP) or rtcpTagLen + 4 (SRTCP,
 * the E bit and index), plus the MKI's length when there is one. */
typedef struct nktlsSrtpProfileInfo {
    ubyte2 profile;
    ubyte4 keyLen;
    ubyte4 saltLen;
    ubyte4 rtpTagLen;
    ubyte4 rtcpTagLen;
    ubyte4 keyingMaterialLen;
} nktlsSrtpProfileInfo;

/* ERR_NOT_SUPPORTED for a profile nktls does not implement (the NULL cipher
 * profiles among them). */
MSTATUS NKTLS_srtpGetProfileInfo(ubyte2 profile, nktlsSrtpProfileInfo *pInfo);

/* One direction's master key and salt. */
typedef struct nktlsSrtpMasterKey {
    ubyte key[NKTLS_SRTP_MAX_KEY];
    ubyte4 keyLen;
    ubyte salt[NKTLS_SRTP_MAX_SALT];
    ubyte4 saltLen;
} nktlsSrtpMasterKey;

/* Splits DTLS-SRTP keying material (the exporter's output with label
 * "EXTRACTOR-dtls_srtp", keyingMaterialLen bytes) into
 *   client_write_SRTP_master_key | server_write_SRTP_master_key |
 *   client_write_SRTP_master_salt | server_write_SRTP_master_salt
 * (RFC 5764 §4.2) and hands out this side's: pOutbound gets the keys this
 * side (the DTLS client when isClient is TRUE) protects with, pInbound the
 * peer's. ERR_INVALID_ARG when materialLen is not the profile's length.
 * Wipe both structures when the sessions are made. */
MSTATUS NKTLS_srtpSplitKeyingMaterial(ubyte2 profile, const ubyte *pMaterial, ubyte4 materialLen,
                                      intBoolean isClient, nktlsSrtpMasterKey *pOutbound,
                                      nktlsSrtpMasterKey *pInbound);

typedef struct nktlsSrtpSession nktlsSrtpSession;

/* Makes a session: the session keys are derived at once (RFC 3711 §4.3,
 * key_derivation_rate 0). keyLen and saltLen must be the profile's; mkiLen
 * 0 (no MKI) to NKTLS_SRTP_MAX_MKI: an MKI is appended to every packet
 * protected, and every packet unprotected must carry it. */
MSTATUS NKTLS_srtpCreate(ubyte2 profile, sbyte4 direction, const ubyte *pMasterKey, ubyte4 keyLen,
                         const ubyte *pMasterSalt, ubyte4 saltLen, const ubyte *pMki, ubyte4 mkiLen,
                         nktlsSrtpSession **ppSession);

/* How many SSRCs the session keeps contexts for (1..65536; not below the number
 * it holds already). A packet of a further SSRC is refused with
 * ERR_SRTP_TOO_MANY_STREAMS. */
MSTATUS NKTLS_srtpSetMaxStreams(nktlsSrtpSession *pSession, ubyte4 maxStreams);

/* SRTP (RTP packets, RFC 3711 §3.3). Protect: *pLength bytes of an RTP packet
 * (header, CSRCs, header extension, payload) at pPacket are encrypted in
 * place and the tag (and MKI) appended; bufferSize is the room at pPacket
 * (ERR_BUFFER_TOO_SMALL when the tag does not fit); *pLength becomes the
 * protected length. The rollover counter follows the sequence numbers given
 * (RFC 3711 §3.3.1); ERR_SRTP_REPLAY for an index protected already (reusing
 * it would reuse keystream), ERR_SRTP_INDEX_EXHAUSTED after 2^48 packets.
 * Unprotect: the reverse; *pLength becomes the RTP packet's length. */
MSTATUS NKTLS_srtpProtect(nktlsSrtpSession *pSession, ubyte *pPacket, ubyte4 *pLength, ubyte4 bufferSize);
MSTATUS NKTLS_srtpUnprotect(nktlsSrtpSession *pSession, ubyte *pPacket, ubyte4 *pLength);

/* SRTCP (compound RTCP packets, RFC 3711 §3.4): the same, with the SRTCP
 * index counted by the session per SSRC and always encrypted (E bit set; an
 * inbound packet with the E bit clear is authenticated only). ERR_SRTP_INDEX_EXHAUSTED
 * after 2^31 packets of one SSRC. */
MSTATUS NKTLS_srtpProtectRtcp(nktlsSrtpSession *pSession, ubyte *pPacket, ubyte4 *pLength, ubyte4 bufferSize);
MSTATUS NKTLS_srtpUnprotectRtcp(nktlsSrtpSession *pSession, ubyte *pPacket, ubyte4 *pLength);

/* Wipes the session's keys and frees it; *ppSession becomes NULL. NULL or
 * *ppSession NULL: nothing to do. */
MSTATUS NKTLS_srtpFree(nktlsSrtpSession **ppSession);

#ifdef __cplusplus
}
#endif

#endif
