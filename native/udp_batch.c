/*
 * udp_batch: a UDP receive socket that hands datagrams to JavaScript in batches.
 *
 * Node's dgram makes one Buffer, one rinfo object and one JS call per datagram (~6 us of main
 * thread CPU each). This addon polls the socket from the main thread with libuv's uv_poll_t (no
 * threads), and when it is readable reads up to `batch` datagrams per recvmmsg(2) call into a
 * caller-provided buffer, then makes one JS call per batch: onBatch(count). The caller walks the
 * batch from the buffers it passed in:
 *
 *   payload  Uint8Array of batch * slotBytes bytes; datagram i is at i * slotBytes.
 *   meta     Int32Array of batch * 6 words; for datagram i, at i * 6:
 *            [0] length in bytes, [1] address family 4 or 6 (IPv4-mapped IPv6 sources are
 *            reported as 4), [2..5] the source address as big-endian 32-bit words (IPv4: [2]
 *            only), [5] is 0 for IPv4.
 *
 * The buffers are overwritten by the next batch: the callback must copy what it keeps.
 *
 * Coalescing: at moderate rates a readable event finds only one to three datagrams, and the
 * wake-up (epoll_wait + recvmmsg + a JS call) costs more than the datagrams. So once a read
 * has emptied the queue after finding something, the socket is read on a `coalesceMs` timer
 * instead of on readability, so that datagrams gather in the socket buffer between reads (a
 * millisecond at 1M records/s is ~40 datagrams, ~60 KB of buffer). A timer read that finds
 * nothing goes back to waiting on readability, so an idle socket costs nothing; a read that
 * stops at its cap (BATCHES_PER_WAKE, a flood) goes back too, to read again at the next turn
 * of the loop. coalesceMs 0 reads on readability only.
 *
 * Exports:
 *   open({ family, address, port, receiveBufferBytes, payload, slotBytes, meta, coalesceMs,
 *          onBatch })
 *     -> handle { address, port, receiveBufferBytes, forced }; throws an Error with `code`
 *        (e.g. "EADDRINUSE"), `errno`, `syscall`, `address` and `port` when the socket can't
 *        be made or bound.
 *   close(handle, callback): stops polling at once; callback() runs once the fd is closed.
 *
 * Linux only (recvmmsg, SO_RCVBUFFORCE).
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define META_WORDS 6
#define MAX_BATCH 1024
/* Batches read per wake-up at most, so a flood can't starve timers and other I/O. */
#define BATCHES_PER_WAKE 16

enum { READ_NOTHING, READ_EMPTIED, READ_CAPPED };

enum { S_OPEN, S_CLOSING, S_CLOSED };

typedef struct {
  napi_env env;
  uv_poll_t poll;
  uv_timer_t timer;
  int fd;
  int polling;        /* 1: waiting on readability; 0: reading on the coalescing timer */
  int open_handles;   /* libuv handles not closed yet */
  unsigned coalesce_ms;
  int state;
  int finalized;
  int teardown; /* closed by the environment's cleanup hook: no JS callback then */
  napi_ref self;
  napi_ref on_batch;
  napi_ref on_closed;
  napi_ref payload_ref;
  napi_ref meta_ref;
  napi_async_context async;
  napi_async_cleanup_hook_handle cleanup;
  uint8_t *payload;
  size_t slot;
  int32_t *meta;
  unsigned batch;
  struct mmsghdr *msgs;
  struct iovec *iov;
  struct sockaddr_in6 *names;
} sock_t;

#define CHECK(call)                                                                        \
  do {                                                                                     \
    if ((call) != napi_ok) goto fail;                                                      \
  } while (0)

static void throw_errno(napi_env env, const char *syscall, int err, const char *address,
                        int port) {
  const char *name = uv_err_name(-err);
  char msg[256];
  snprintf(msg, sizeof msg, "%s %s %s:%d", syscall, name, address, port);
  napi_value code, message, error, v;
  if (napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code) != napi_ok) return;
  if (napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message) != napi_ok) return;
  if (napi_create_error(env, code, message, &error) != napi_ok) return;
  if (napi_create_int32(env, -err, &v) == napi_ok) napi_set_named_property(env, error, "errno", v);
  if (napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &v) == napi_ok)
    napi_set_named_property(env, error, "syscall", v);
  if (napi_create_string_utf8(env, address, NAPI_AUTO_LENGTH, &v) == napi_ok)
    napi_set_named_property(env, error, "address", v);
  if (napi_create_int32(env, port, &v) == napi_ok) napi_set_named_property(env, error, "port", v);
  napi_throw(env, error);
}

static int get_prop(napi_env env, napi_value obj, const char *name, napi_value *out) {
  return napi_get_named_property(env, obj, name, out) == napi_ok;
}

static void free_sock(sock_t *s) {
  free(s->msgs);
  free(s->iov);
  free(s->names);
  free(s);
}

static void delete_ref(napi_env env, napi_ref *r) {
  if (*r != NULL) {
    napi_delete_reference(env, *r);
    *r = NULL;
  }
}

/* An exception thrown by a callback goes to process 'uncaughtException', as with dgram. */
static void report_exception(napi_env env) {
  napi_value err;
  if (napi_get_and_clear_last_exception(env, &err) == napi_ok) napi_fatal_exception(env, err);
}

static void on_closed(uv_handle_t *h) {
  sock_t *s = (sock_t *)h->data;
  if (--s->open_handles > 0) return;
  napi_env env = s->env;
  close(s->fd);
  s->fd = -1;
  s->state = S_CLOSED;
  if (s->cleanup != NULL) napi_remove_async_cleanup_hook(s->cleanup);
  s->cleanup = NULL;
  if (!s->teardown && s->on_closed != NULL) {
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) == napi_ok) {
      napi_value fn, global, result;
      if (napi_get_reference_value(env, s->on_closed, &fn) == napi_ok &&
          napi_get_global(env, &global) == napi_ok) {
        if (napi_make_callback(env, s->async, global, fn, 0, NULL, &result) ==
            napi_pending_exception)
          report_exception(env);
      }
      napi_close_handle_scope(env, scope);
    }
  }
  if (s->async != NULL) napi_async_destroy(env, s->async);
  delete_ref(env, &s->on_closed);
  delete_ref(env, &s->on_batch);
  delete_ref(env, &s->payload_ref);
  delete_ref(env, &s->meta_ref);
  delete_ref(env, &s->self);
  if (s->finalized) free_sock(s);
}

static void begin_close(sock_t *s) {
  if (s->state != S_OPEN) return;
  s->state = S_CLOSING;
  uv_poll_stop(&s->poll);
  uv_timer_stop(&s->timer);
  s->open_handles = 2;
  uv_close((uv_handle_t *)&s->poll, on_closed);
  uv_close((uv_handle_t *)&s->timer, on_closed);
}

static void cleanup_hook(napi_async_cleanup_hook_handle handle, void *arg) {
  (void)handle;
  sock_t *s = (sock_t *)arg;
  s->teardown = 1;
  begin_close(s);
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  sock_t *s = (sock_t *)data;
  s->finalized = 1;
  if (s->state == S_CLOSED) free_sock(s);
}

static void fill_meta(sock_t *s, int n) {
  for (int i = 0; i < n; i++) {
    int32_t *m = s->meta + (size_t)i * META_WORDS;
    const struct mmsghdr *mh = &s->msgs[i];
    unsigned len = mh->msg_len;
    m[0] = (int32_t)(len > s->slot ? s->slot : len);
    const struct sockaddr_in6 *sa6 = &s->names[i];
    if (sa6->sin6_family == AF_INET6) {
      const uint8_t *b = sa6->sin6_addr.s6_addr;
      if (IN6_IS_ADDR_V4MAPPED(&sa6->sin6_addr)) {
        m[1] = 4;
        m[2] = (int32_t)((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 |
                         (uint32_t)b[15]);
        m[3] = m[4] = m[5] = 0;
      } else {
        m[1] = 6;
        for (int w = 0; w < 4; w++)
          m[2 + w] = (int32_t)((uint32_t)b[4 * w] << 24 | (uint32_t)b[4 * w + 1] << 16 |
                               (uint32_t)b[4 * w + 2] << 8 | (uint32_t)b[4 * w + 3]);
      }
    } else {
      const struct sockaddr_in *sa4 = (const struct sockaddr_in *)sa6;
      m[1] = 4;
      m[2] = (int32_t)ntohl(sa4->sin_addr.s_addr);
      m[3] = m[4] = m[5] = 0;
    }
  }
}

/* Reads until the queue is empty or the cap, one JS call per batch. */
static int drain(sock_t *s) {
  napi_env env = s->env;
  napi_handle_scope scope;
  int outcome = READ_CAPPED;
  unsigned total = 0;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return READ_CAPPED;
  napi_value fn, global;
  if (napi_get_reference_value(env, s->on_batch, &fn) != napi_ok ||
      napi_get_global(env, &global) != napi_ok) {
    napi_close_handle_scope(env, scope);
    return READ_CAPPED;
  }
  for (int b = 0; b < BATCHES_PER_WAKE && s->state == S_OPEN; b++) {
    for (unsigned i = 0; i < s->batch; i++) {
      s->msgs[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_in6);
      s->msgs[i].msg_hdr.msg_flags = 0;
    }
    int n = recvmmsg(s->fd, s->msgs, s->batch, MSG_DONTWAIT, NULL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      /* EAGAIN: emptied; another error: let the next wake-up try again */
      outcome = total > 0 ? READ_EMPTIED : READ_NOTHING;
      break;
    }
    total += (unsigned)n;
    fill_meta(s, n);
    napi_value argv[1], result;
    if (napi_create_int32(env, n, &argv[0]) != napi_ok) break;
    napi_status st = napi_make_callback(env, s->async, global, fn, 1, argv, &result);
    if (st == napi_pending_exception) {
      report_exception(env);
      break;
    }
    if ((unsigned)n < s->batch) {
      /* The queue is empty: don't spend a syscall on EAGAIN. */
      outcome = READ_EMPTIED;
      break;
    }
  }
  napi_close_handle_scope(env, scope);
  return outcome;
}

static void on_readable(uv_poll_t *handle, int status, int events);
static void on_timer(uv_timer_t *timer);

/* Chooses how to wait for the next read from what this one found (see the top comment). */
static void after_read(sock_t *s, int outcome) {
  if (s->state != S_OPEN) return;
  int on_timer_next = outcome == READ_EMPTIED && s->coalesce_ms > 0;
  if (on_timer_next && s->polling) {
    uv_poll_stop(&s->poll);
    s->polling = 0;
    uv_timer_start(&s->timer, on_timer, s->coalesce_ms, s->coalesce_ms);
  } else if (!on_timer_next && !s->polling) {
    uv_timer_stop(&s->timer);
    s->polling = 1;
    uv_poll_start(&s->poll, UV_READABLE, on_readable);
  }
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  (void)events;
  sock_t *s = (sock_t *)handle->data;
  if (status < 0 || s->state != S_OPEN) return;
  after_read(s, drain(s));
}

static void on_timer(uv_timer_t *timer) {
  sock_t *s = (sock_t *)timer->data;
  if (s->state != S_OPEN) return;
  after_read(s, drain(s));
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], v, handle;
  sock_t *s = NULL;
  int fd = -1;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) {
    napi_throw_type_error(env, NULL, "open(options)");
    return NULL;
  }
  napi_value opts = argv[0];
  int32_t family = 0, port = 0;
  int64_t rcvbuf = 0;
  uint32_t slot = 0, coalesce_ms = 0;
  char address[INET6_ADDRSTRLEN + 1];
  size_t alen = 0;
  napi_value on_batch, payload, meta;
  if (!get_prop(env, opts, "family", &v) || napi_get_value_int32(env, v, &family) != napi_ok ||
      !get_prop(env, opts, "port", &v) || napi_get_value_int32(env, v, &port) != napi_ok ||
      !get_prop(env, opts, "receiveBufferBytes", &v) ||
      napi_get_value_int64(env, v, &rcvbuf) != napi_ok || !get_prop(env, opts, "slotBytes", &v) ||
      napi_get_value_uint32(env, v, &slot) != napi_ok || !get_prop(env, opts, "address", &v) ||
      napi_get_value_string_utf8(env, v, address, sizeof address, &alen) != napi_ok ||
      !get_prop(env, opts, "coalesceMs", &v) ||
      napi_get_value_uint32(env, v, &coalesce_ms) != napi_ok ||
      !get_prop(env, opts, "onBatch", &on_batch) || !get_prop(env, opts, "payload", &payload) ||
      !get_prop(env, opts, "meta", &meta)) {
    napi_throw_type_error(env, NULL, "open: bad options");
    return NULL;
  }
  napi_valuetype t;
  CHECK(napi_typeof(env, on_batch, &t));
  napi_typedarray_type pt, mt;
  size_t plen, mlen;
  void *pdata, *mdata;
  bool is_ta;
  if (t != napi_function || napi_is_typedarray(env, payload, &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, payload, &pt, &plen, &pdata, NULL, NULL) != napi_ok ||
      pt != napi_uint8_array || napi_is_typedarray(env, meta, &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, meta, &mt, &mlen, &mdata, NULL, NULL) != napi_ok ||
      mt != napi_int32_array || slot == 0 || (family != 4 && family != 6) || port < 0 ||
      port > 65535) {
    napi_throw_type_error(env, NULL, "open: bad options");
    return NULL;
  }
  size_t batch = plen / slot;
  if (mlen / META_WORDS < batch) batch = mlen / META_WORDS;
  if (batch > MAX_BATCH) batch = MAX_BATCH;
  if (batch == 0) {
    napi_throw_range_error(env, NULL, "open: buffers too small for one datagram");
    return NULL;
  }

  struct sockaddr_storage ss;
  socklen_t sslen;
  memset(&ss, 0, sizeof ss);
  if (family == 4) {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, address, &a->sin_addr) != 1) {
      napi_throw_type_error(env, "ERR_INVALID_ADDRESS", "open: not an IPv4 address");
      return NULL;
    }
    sslen = sizeof *a;
  } else {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, address, &a->sin6_addr) != 1) {
      napi_throw_type_error(env, "ERR_INVALID_ADDRESS", "open: not an IPv6 address");
      return NULL;
    }
    sslen = sizeof *a;
  }

  fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw_errno(env, "socket", errno, address, port);
    return NULL;
  }
  if (family == 6) {
    int off = 0; /* dual stack: IPv4 exporters arrive as ::ffff:a.b.c.d */
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
  }
  int forced = 0;
  if (rcvbuf > 0) {
    int want = rcvbuf > 0x3fffffff ? 0x3fffffff : (int)rcvbuf;
    /* SO_RCVBUFFORCE (CAP_NET_ADMIN) goes past net.core.rmem_max; else SO_RCVBUF, capped. */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof want) == 0)
      forced = 1;
    else
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof want);
  }
  if (bind(fd, (struct sockaddr *)&ss, sslen) != 0) {
    int e = errno;
    close(fd);
    throw_errno(env, "bind", e, address, port);
    return NULL;
  }
  int granted = 0;
  socklen_t glen = sizeof granted;
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &glen);
  struct sockaddr_storage bound;
  socklen_t blen = sizeof bound;
  char bound_address[INET6_ADDRSTRLEN + 1] = "";
  int bound_port = port;
  if (getsockname(fd, (struct sockaddr *)&bound, &blen) == 0) {
    if (bound.ss_family == AF_INET) {
      struct sockaddr_in *a = (struct sockaddr_in *)&bound;
      inet_ntop(AF_INET, &a->sin_addr, bound_address, sizeof bound_address);
      bound_port = ntohs(a->sin_port);
    } else {
      struct sockaddr_in6 *a = (struct sockaddr_in6 *)&bound;
      inet_ntop(AF_INET6, &a->sin6_addr, bound_address, sizeof bound_address);
      bound_port = ntohs(a->sin6_port);
    }
  }

  s = (sock_t *)calloc(1, sizeof *s);
  if (s == NULL) goto oom;
  s->env = env;
  s->fd = fd;
  s->state = S_CLOSED; /* until polling starts */
  s->payload = (uint8_t *)pdata;
  s->slot = slot;
  s->meta = (int32_t *)mdata;
  s->batch = (unsigned)batch;
  s->coalesce_ms = coalesce_ms;
  s->msgs = (struct mmsghdr *)calloc(batch, sizeof *s->msgs);
  s->iov = (struct iovec *)calloc(batch, sizeof *s->iov);
  s->names = (struct sockaddr_in6 *)calloc(batch, sizeof *s->names);
  if (s->msgs == NULL || s->iov == NULL || s->names == NULL) goto oom;
  for (size_t i = 0; i < batch; i++) {
    s->iov[i].iov_base = s->payload + i * slot;
    s->iov[i].iov_len = slot;
    s->msgs[i].msg_hdr.msg_iov = &s->iov[i];
    s->msgs[i].msg_hdr.msg_iovlen = 1;
    s->msgs[i].msg_hdr.msg_name = &s->names[i];
    s->msgs[i].msg_hdr.msg_namelen = sizeof s->names[i];
  }

  CHECK(napi_create_object(env, &handle));
  CHECK(napi_create_string_utf8(env, bound_address, NAPI_AUTO_LENGTH, &v));
  CHECK(napi_set_named_property(env, handle, "address", v));
  CHECK(napi_create_int32(env, bound_port, &v));
  CHECK(napi_set_named_property(env, handle, "port", v));
  CHECK(napi_create_int32(env, granted, &v));
  CHECK(napi_set_named_property(env, handle, "receiveBufferBytes", v));
  CHECK(napi_get_boolean(env, forced, &v));
  CHECK(napi_set_named_property(env, handle, "forced", v));
  CHECK(napi_create_uint32(env, s->batch, &v));
  CHECK(napi_set_named_property(env, handle, "batch", v));

  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  if (uv_poll_init(loop, &s->poll, fd) != 0) goto fail;
  uv_timer_init(loop, &s->timer);
  s->poll.data = s;
  s->timer.data = s;
  CHECK(napi_create_reference(env, on_batch, 1, &s->on_batch));
  CHECK(napi_create_reference(env, payload, 1, &s->payload_ref));
  CHECK(napi_create_reference(env, meta, 1, &s->meta_ref));
  napi_value name;
  CHECK(napi_create_string_utf8(env, "flowtally:udp_batch", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, handle, name, &s->async));
  CHECK(napi_wrap(env, handle, s, finalize, NULL, NULL));
  /* Strong until closed: the socket must outlive the JS handle while it is polled. */
  CHECK(napi_create_reference(env, handle, 1, &s->self));
  CHECK(napi_add_async_cleanup_hook(env, cleanup_hook, s, &s->cleanup));
  s->state = S_OPEN;
  s->polling = 1;
  int rc = uv_poll_start(&s->poll, UV_READABLE, on_readable);
  if (rc != 0) {
    begin_close(s);
    throw_errno(env, "uv_poll_start", -rc, address, port);
    return NULL;
  }
  return handle;

oom:
  if (s != NULL) free_sock(s);
  close(fd);
  napi_throw_error(env, NULL, "open: out of memory");
  return NULL;
fail:
  /* Only reachable before polling starts; the N-API error is pending or thrown below. */
  if (s != NULL && s->state == S_CLOSED) {
    if (s->poll.data != NULL) {
      /* uv_poll_init succeeded: the handles must be closed through libuv. */
      s->state = S_OPEN;
      begin_close(s);
    } else {
      delete_ref(env, &s->on_batch);
      delete_ref(env, &s->payload_ref);
      delete_ref(env, &s->meta_ref);
      close(fd);
    }
  } else if (s == NULL && fd >= 0) {
    close(fd);
  }
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, NULL, "open: N-API call failed");
  return NULL;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_unwrap(env, argv[0], &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, NULL, "close(handle, callback)");
    return NULL;
  }
  sock_t *s = (sock_t *)data;
  if (s->state != S_OPEN) return NULL;
  if (argc >= 2) {
    napi_valuetype t;
    if (napi_typeof(env, argv[1], &t) == napi_ok && t == napi_function)
      napi_create_reference(env, argv[1], 1, &s->on_closed);
  }
  begin_close(s);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
