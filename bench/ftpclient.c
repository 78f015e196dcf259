/*
 * ftpclient — the load generator behind bench/run.ts.
 *
 * Plain blocking sockets on 127.0.0.1, EPSV for data, one thread per concurrent session. It has
 * to stay cheap enough that the server, not the client, is what a figure measures: no per-byte
 * work, a 1 MiB buffer for bulk data, replies parsed in place.
 *
 * Every mode prints its results on stdout as `key value` pairs on one line (several lines for
 * per-run or per-thread figures) and exits 0; anything unexpected (a reply code, a short
 * transfer, a refused connection) is printed on stderr with the last reply and exits 1.
 * Each mode is bounded by alarm(): a hung server kills the client, never the benchmark.
 *
 * Build: gcc -O2 -pthread -o ftpclient ftpclient.c -lz
 * (without zlib.h: add -DFTPCLIENT_NO_ZLIB; the retrz mode then does MODE S only)
 *
 * Modes (PORT is on 127.0.0.1):
 *   sink                                listen on a free port (prints `port N`), accept one
 *                                       connection, read it to EOF into a 1 MiB buffer: the
 *                                       receiving half of the ceiling
 *   sendfile PORT FILE                  connect and sendfile() FILE: the sending half
 *   http FILE COUNT                     a minimal HTTP/1.1 server for COUNT requests: GET sends
 *                                       FILE with sendfile(), PUT reads the body to nowhere; for
 *                                       the curl-bound ceiling
 *   retr PORT USER PASS COUNT FMT       one session, COUNT × (EPSV, RETR sprintf(FMT, i))
 *   retrb PORT USER PASS COUNT FMT      one session in MODE B, one EPSV, COUNT × RETR over the
 *                                       kept data connection: blocks to the EOF descriptor, 250
 *   retrz PORT USER PASS PATH S|Z [LEVEL]
 *                                       one RETR of PATH in MODE S or MODE Z (OPTS MODE Z LEVEL
 *                                       LEVEL first if given; zlib inflate into a 1 MiB buffer);
 *                                       reports file and wire bytes, client CPU
 *   stor PORT USER PASS COUNT FMT SIZE  one session, COUNT × (EPSV, STOR sprintf(FMT, i)) of SIZE
 *   rest PORT USER PASS PATH OFFSET SECONDS
 *                                       one session, (EPSV, REST OFFSET, RETR PATH) for SECONDS
 *   list PORT USER PASS VERB PATH RUNS WARMUPS
 *                                       one session; per run the ms from sending VERB to its 226
 *   concurrent PORT USER PASS PATH THREADS
 *                                       THREADS sessions log in, then all RETR PATH at once
 *   logins PORT USER PASS THREADS SECONDS
 *                                       THREADS workers loop connect, USER, PASS, NOOP, QUIT
 *   hold PORT USER PASS N               open N logged-in sessions, print `ready N`, keep them
 *                                       until stdin reaches EOF, then QUIT them all
 *   startup PORT -- CMD ARGS...         fork/exec CMD, poll connect() every 0.5 ms, report the ms
 *                                       from exec to the first 220 line, then SIGTERM CMD
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifndef FTPCLIENT_NO_ZLIB
#include <zlib.h>
#endif

#define BULK (1 << 20)
#define LINE 8192

static const char *user_name;
static const char *user_pass;
static int server_port;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "ftpclient: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(1);
}

static void *xmalloc(size_t size) {
  void *p = malloc(size);
  if (!p) die("out of memory");
  return p;
}

static struct sockaddr_in loopback(int port) {
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

static int tcp_connect(int port, int nodelay) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket: %s", strerror(errno));
  struct sockaddr_in addr = loopback(port);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    die("connect to port %d: %s", port, strerror(errno));
  }
  if (nodelay) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  return fd;
}

static int tcp_listen(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket: %s", strerror(errno));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = loopback(0);
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind: %s", strerror(errno));
  if (listen(fd, 128) < 0) die("listen: %s", strerror(errno));
  socklen_t len = sizeof addr;
  getsockname(fd, (struct sockaddr *)&addr, &len);
  *port = ntohs(addr.sin_port);
  return fd;
}

static void write_all(int fd, const void *data, size_t size) {
  const char *p = data;
  while (size > 0) {
    ssize_t n = write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) die("write: %s", n < 0 ? strerror(errno) : "0 bytes");
    p += n;
    size -= (size_t)n;
  }
}

/* Reads to EOF into `buffer` (to nowhere); returns the byte count. */
static long long drain(int fd, char *buffer, size_t size) {
  long long total = 0;
  for (;;) {
    ssize_t n = read(fd, buffer, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("read: %s", strerror(errno));
    if (n == 0) return total;
    total += n;
  }
}

static void sendfile_all(int sock, int file, long long size) {
  off_t offset = 0;
  while (offset < size) {
    ssize_t n = sendfile(sock, file, &offset, (size_t)(size - offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) die("sendfile: %s", n < 0 ? strerror(errno) : "0 bytes");
  }
}

/* ---- control connection ---------------------------------------------------------------- */

typedef struct {
  int fd;
  size_t start, end;
  char buf[LINE];
  char reply[LINE]; /* the last line of the last reply, for error messages */
} ctrl_t;

/* One line without its CRLF into `line`; 0 at EOF. */
static int read_line(ctrl_t *c, char *line, size_t cap) {
  size_t length = 0;
  for (;;) {
    if (c->start == c->end) {
      ssize_t n = read(c->fd, c->buf, sizeof c->buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) die("control read: %s", strerror(errno));
      if (n == 0) return 0;
      c->start = 0;
      c->end = (size_t)n;
    }
    char *nl = memchr(c->buf + c->start, '\n', c->end - c->start);
    size_t take = (nl ? (size_t)(nl - c->buf) : c->end) - c->start;
    if (length + take >= cap) die("reply line too long");
    memcpy(line + length, c->buf + c->start, take);
    length += take;
    c->start += take;
    if (nl) {
      c->start++;
      if (length > 0 && line[length - 1] == '\r') length--;
      line[length] = '\0';
      return 1;
    }
  }
}

/*
 * Reads one reply, single- or multi-line (RFC 959 §4.2: `ddd-` opens a multi-line reply, which
 * ends at the first line that starts with the same `ddd ` — lines in between may start with
 * anything, digits included). Returns the code; 0 when the server closed the connection.
 */
static int read_reply(ctrl_t *c) {
  char line[LINE];
  if (!read_line(c, line, sizeof line)) {
    strcpy(c->reply, "(connection closed)");
    return 0;
  }
  if (strlen(line) < 3 || line[0] < '1' || line[0] > '5') die("malformed reply: %s", line);
  if (line[3] == '-') {
    char end[5] = {line[0], line[1], line[2], ' ', '\0'};
    do {
      if (!read_line(c, line, sizeof line)) die("connection closed inside a multi-line reply");
      /* A bare `ddd` (no text) ends it too. */
    } while (strncmp(line, end, 4) != 0 && !(strlen(line) == 3 && strncmp(line, end, 3) == 0));
  }
  snprintf(c->reply, sizeof c->reply, "%s", line);
  return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

static void send_cmd(ctrl_t *c, const char *fmt, ...) {
  char line[LINE];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line - 2, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof line - 2) die("command too long");
  line[n++] = '\r';
  line[n++] = '\n';
  write_all(c->fd, line, (size_t)n);
}

static void expect(ctrl_t *c, int code, int low, int high, const char *what) {
  if (code < low || code > high) die("%s: expected %d-%d, got \"%s\"", what, low, high, c->reply);
}

static ctrl_t *ctrl_open(void) {
  ctrl_t *c = xmalloc(sizeof *c);
  c->fd = tcp_connect(server_port, 1);
  c->start = c->end = 0;
  c->reply[0] = '\0';
  return c;
}

/* Connects, reads the banner, logs in. */
static ctrl_t *logged_in(void) {
  ctrl_t *c = ctrl_open();
  expect(c, read_reply(c), 220, 220, "banner");
  send_cmd(c, "USER %s", user_name);
  expect(c, read_reply(c), 331, 331, "USER");
  send_cmd(c, "PASS %s", user_pass);
  expect(c, read_reply(c), 230, 230, "PASS");
  return c;
}

/* A session ready for transfers. */
static ctrl_t *session(void) {
  ctrl_t *c = logged_in();
  /* RFC 959's default type is ASCII, which would rewrite every LF on the way. */
  send_cmd(c, "TYPE I");
  expect(c, read_reply(c), 200, 200, "TYPE I");
  return c;
}

static void quit(ctrl_t *c) {
  send_cmd(c, "QUIT");
  expect(c, read_reply(c), 221, 221, "QUIT");
  /* Let the server close first, so TIME_WAIT stays on its side and the loops here never run
   * out of ephemeral ports. */
  char scratch[256];
  while (read(c->fd, scratch, sizeof scratch) > 0) {
  }
  close(c->fd);
  free(c);
}

/* EPSV, then connect the data connection (RFC 2428: `229 text (|||port|)`). */
static int epsv(ctrl_t *c) {
  send_cmd(c, "EPSV");
  expect(c, read_reply(c), 229, 229, "EPSV");
  char *open = strchr(c->reply, '(');
  int port = 0;
  char d;
  if (!open || sscanf(open + 1, "%c%*c%*c%d", &d, &port) != 2 || port <= 0) {
    die("EPSV: cannot parse \"%s\"", c->reply);
  }
  return tcp_connect(port, 0);
}

/* One download on an open session; returns the bytes received. */
static long long retrieve(ctrl_t *c, const char *path, long long rest, char *buffer, size_t size) {
  int data = epsv(c);
  if (rest > 0) {
    send_cmd(c, "REST %lld", rest);
    expect(c, read_reply(c), 350, 350, "REST");
  }
  send_cmd(c, "RETR %s", path);
  expect(c, read_reply(c), 125, 150, "RETR");
  long long bytes = drain(data, buffer, size);
  close(data);
  expect(c, read_reply(c), 226, 226, "RETR completion");
  return bytes;
}

/* ---- modes ------------------------------------------------------------------------------ */

static int mode_sink(int argc, char **argv) {
  (void)argv;
  if (argc != 0) die("usage: sink");
  int port;
  int listener = tcp_listen(&port);
  printf("port %d\n", port);
  fflush(stdout);
  int conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
  if (conn < 0) die("accept: %s", strerror(errno));
  double start = now();
  char *buffer = xmalloc(BULK);
  long long bytes = drain(conn, buffer, BULK);
  printf("bytes %lld seconds %.6f\n", bytes, now() - start);
  return 0;
}

static int mode_sendfile(int argc, char **argv) {
  if (argc != 2) die("usage: sendfile PORT FILE");
  int file = open(argv[1], O_RDONLY | O_CLOEXEC);
  if (file < 0) die("open %s: %s", argv[1], strerror(errno));
  struct stat st;
  fstat(file, &st);
  double start = now();
  int sock = tcp_connect(atoi(argv[0]), 0);
  sendfile_all(sock, file, st.st_size);
  close(sock);
  printf("bytes %lld seconds %.6f\n", (long long)st.st_size, now() - start);
  return 0;
}

/* Reads a request head; returns its length (the body may have started in `buffer` after it). */
static size_t http_head(int conn, char *buffer, size_t cap, size_t *got) {
  size_t length = 0;
  for (;;) {
    ssize_t n = read(conn, buffer + length, cap - 1 - length);
    if (n <= 0) die("http: request head cut short");
    length += (size_t)n;
    buffer[length] = '\0';
    char *end = strstr(buffer, "\r\n\r\n");
    if (end) {
      *got = length;
      return (size_t)(end - buffer) + 4;
    }
    if (length == cap - 1) die("http: request head too long");
  }
}

static int mode_http(int argc, char **argv) {
  if (argc != 2) die("usage: http FILE COUNT");
  int file = open(argv[0], O_RDONLY | O_CLOEXEC);
  if (file < 0) die("open %s: %s", argv[0], strerror(errno));
  struct stat st;
  fstat(file, &st);
  int count = atoi(argv[1]);
  int port;
  int listener = tcp_listen(&port);
  printf("port %d\n", port);
  fflush(stdout);
  char *buffer = xmalloc(BULK);
  for (int i = 0; i < count; i++) {
    int conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    if (conn < 0) die("accept: %s", strerror(errno));
    size_t got;
    size_t head = http_head(conn, buffer, 65536, &got);
    char reply[256];
    if (strncmp(buffer, "GET ", 4) == 0) {
      int n = snprintf(reply, sizeof reply,
                       "HTTP/1.1 200 OK\r\nContent-Length: %lld\r\nConnection: close\r\n\r\n",
                       (long long)st.st_size);
      write_all(conn, reply, (size_t)n);
      sendfile_all(conn, file, st.st_size);
    } else if (strncmp(buffer, "PUT ", 4) == 0) {
      char *field = strcasestr(buffer, "\r\ncontent-length:");
      if (!field || (size_t)(field - buffer) > head) die("http: PUT without Content-Length");
      long long remaining = atoll(field + 17) - (long long)(got - head);
      if (strcasestr(buffer, "\r\nexpect: 100-continue")) {
        const char *go = "HTTP/1.1 100 Continue\r\n\r\n";
        write_all(conn, go, strlen(go));
      }
      while (remaining > 0) {
        ssize_t n = read(conn, buffer, BULK);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) die("http: PUT body cut short");
        remaining -= n;
      }
      const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      write_all(conn, ok, strlen(ok));
    } else {
      die("http: unexpected request");
    }
    close(conn);
  }
  return 0;
}

static void set_user(char **argv) {
  server_port = atoi(argv[0]);
  user_name = argv[1];
  user_pass = argv[2];
}

static int mode_retr(int argc, char **argv) {
  if (argc != 5) die("usage: retr PORT USER PASS COUNT FMT");
  set_user(argv);
  int count = atoi(argv[3]);
  char *buffer = xmalloc(BULK);
  ctrl_t *c = session();
  long long bytes = 0;
  char path[4096];
  double start = now();
  for (int i = 0; i < count; i++) {
    snprintf(path, sizeof path, argv[4], i);
    bytes += retrieve(c, path, 0, buffer, BULK);
  }
  double seconds = now() - start;
  quit(c);
  printf("ops %d seconds %.6f bytes %lld\n", count, seconds, bytes);
  return 0;
}

static int mode_stor(int argc, char **argv) {
  if (argc != 6) die("usage: stor PORT USER PASS COUNT FMT SIZE");
  set_user(argv);
  int count = atoi(argv[3]);
  size_t size = (size_t)atol(argv[5]);
  char *payload = xmalloc(size + 1);
  for (size_t i = 0; i < size; i++) payload[i] = (char)('a' + i % 26);
  ctrl_t *c = session();
  char path[4096];
  double start = now();
  for (int i = 0; i < count; i++) {
    snprintf(path, sizeof path, argv[4], i);
    int data = epsv(c);
    send_cmd(c, "STOR %s", path);
    expect(c, read_reply(c), 125, 150, "STOR");
    write_all(data, payload, size);
    close(data);
    expect(c, read_reply(c), 226, 226, "STOR completion");
  }
  double seconds = now() - start;
  quit(c);
  printf("ops %d seconds %.6f bytes %lld\n", count, seconds, (long long)size * count);
  return 0;
}

static int mode_rest(int argc, char **argv) {
  if (argc != 6) die("usage: rest PORT USER PASS PATH OFFSET SECONDS");
  set_user(argv);
  long long offset = atoll(argv[4]);
  double limit = atof(argv[5]);
  char *buffer = xmalloc(BULK);
  ctrl_t *c = session();
  long long bytes = 0;
  int ops = 0;
  double start = now(), elapsed;
  do {
    bytes += retrieve(c, argv[3], offset, buffer, BULK);
    ops++;
    elapsed = now() - start;
  } while (elapsed < limit);
  quit(c);
  printf("ops %d seconds %.6f bytes %lld\n", ops, elapsed, bytes);
  return 0;
}

static int mode_list(int argc, char **argv) {
  if (argc != 7) die("usage: list PORT USER PASS VERB PATH RUNS WARMUPS");
  set_user(argv);
  int runs = atoi(argv[5]), warmups = atoi(argv[6]);
  char *buffer = xmalloc(BULK);
  ctrl_t *c = session();
  for (int i = 0; i < warmups + runs; i++) {
    int data = epsv(c);
    double start = now();
    send_cmd(c, "%s %s", argv[3], argv[4]);
    expect(c, read_reply(c), 125, 150, argv[3]);
    long long bytes = drain(data, buffer, BULK);
    close(data);
    expect(c, read_reply(c), 226, 226, "listing completion");
    double ms = (now() - start) * 1000;
    if (i >= warmups) printf("ms %.3f bytes %lld\n", ms, bytes);
  }
  quit(c);
  return 0;
}

typedef struct {
  pthread_t thread;
  const char *path;
  pthread_barrier_t *barrier;
  double start, end;
  long long bytes;
  int ops;
  double deadline;
} worker_t;

static void *concurrent_worker(void *arg) {
  worker_t *w = arg;
  ctrl_t *c = session();
  char *buffer = xmalloc(BULK);
  pthread_barrier_wait(w->barrier);
  w->start = now();
  w->bytes = retrieve(c, w->path, 0, buffer, BULK);
  w->end = now();
  quit(c);
  free(buffer);
  return NULL;
}

static int mode_concurrent(int argc, char **argv) {
  if (argc != 5) die("usage: concurrent PORT USER PASS PATH THREADS");
  set_user(argv);
  int threads = atoi(argv[4]);
  worker_t *workers = calloc((size_t)threads, sizeof *workers);
  pthread_barrier_t barrier;
  pthread_barrier_init(&barrier, NULL, (unsigned)threads);
  for (int i = 0; i < threads; i++) {
    workers[i].path = argv[3];
    workers[i].barrier = &barrier;
    if (pthread_create(&workers[i].thread, NULL, concurrent_worker, &workers[i]) != 0) {
      die("pthread_create failed");
    }
  }
  double first = 1e300, last = 0;
  long long bytes = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(workers[i].thread, NULL);
    if (workers[i].start < first) first = workers[i].start;
    if (workers[i].end > last) last = workers[i].end;
    bytes += workers[i].bytes;
  }
  for (int i = 0; i < threads; i++) {
    printf("session %.6f\n", workers[i].end - workers[i].start);
  }
  printf("bytes %lld seconds %.6f\n", bytes, last - first);
  return 0;
}

static void *login_worker(void *arg) {
  worker_t *w = arg;
  pthread_barrier_wait(w->barrier);
  while (now() < w->deadline) {
    ctrl_t *c = logged_in();
    send_cmd(c, "NOOP");
    expect(c, read_reply(c), 200, 200, "NOOP");
    quit(c);
    w->ops++;
  }
  return NULL;
}

static int mode_logins(int argc, char **argv) {
  if (argc != 5) die("usage: logins PORT USER PASS THREADS SECONDS");
  set_user(argv);
  int threads = atoi(argv[3]);
  double limit = atof(argv[4]);
  worker_t *workers = calloc((size_t)threads, sizeof *workers);
  pthread_barrier_t barrier;
  pthread_barrier_init(&barrier, NULL, (unsigned)threads + 1);
  for (int i = 0; i < threads; i++) {
    workers[i].barrier = &barrier;
    if (pthread_create(&workers[i].thread, NULL, login_worker, &workers[i]) != 0) {
      die("pthread_create failed");
    }
  }
  double start = now();
  for (int i = 0; i < threads; i++) workers[i].deadline = start + limit;
  pthread_barrier_wait(&barrier);
  int ops = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(workers[i].thread, NULL);
    ops += workers[i].ops;
  }
  printf("ops %d seconds %.6f\n", ops, now() - start);
  return 0;
}

static int mode_hold(int argc, char **argv) {
  if (argc != 4) die("usage: hold PORT USER PASS N");
  set_user(argv);
  int count = atoi(argv[3]);
  ctrl_t **sessions = xmalloc(sizeof *sessions * (size_t)count);
  double start = now();
  for (int i = 0; i < count; i++) sessions[i] = logged_in();
  printf("ready %d seconds %.6f\n", count, now() - start);
  fflush(stdout);
  char scratch[256];
  while (read(0, scratch, sizeof scratch) > 0) {
  }
  for (int i = 0; i < count; i++) quit(sessions[i]);
  printf("closed %d\n", count);
  return 0;
}

static int mode_startup(int argc, char **argv) {
  if (argc < 3 || strcmp(argv[1], "--") != 0) die("usage: startup PORT -- CMD ARGS...");
  int port = atoi(argv[0]);
  struct sockaddr_in addr = loopback(port);
  double start = now();
  pid_t child = fork();
  if (child < 0) die("fork: %s", strerror(errno));
  if (child == 0) {
    /* Never outlive this process, whatever happens to it. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    execvp(argv[2], argv + 2);
    _exit(127);
  }
  int fd;
  struct timespec pause = {0, 500000};
  for (;;) {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0) break;
    int error = errno;
    close(fd);
    if (error != ECONNREFUSED) die("connect: %s", strerror(error));
    if (waitpid(child, NULL, WNOHANG) == child) die("%s exited before listening", argv[2]);
    nanosleep(&pause, NULL);
  }
  ctrl_t c = {.fd = fd};
  int code = read_reply(&c);
  double ms = (now() - start) * 1000;
  close(fd);
  if (code != 220) {
    kill(child, SIGKILL);
    die("banner: expected 220, got \"%s\"", c.reply);
  }
  printf("ms %.3f\n", ms);
  fflush(stdout);
  kill(child, SIGTERM);
  for (int i = 0; i < 5000; i++) {
    if (waitpid(child, NULL, WNOHANG) == child) return 0;
    usleep(1000);
  }
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  fprintf(stderr, "ftpclient: %s ignored SIGTERM for 5 s; killed\n", argv[2]);
  return 0;
}

/* ---- MODE B (RFC 959 §3.4.2) ------------------------------------------------------------ */

/* A buffered reader of a data connection that stays open from one file to the next. */
typedef struct {
  int fd;
  char *buf;
  size_t start, end, cap;
} reader_t;

/* Reads more into the buffer (moving what is left to its start); dies at EOF. */
static void reader_fill(reader_t *r) {
  if (r->start > 0) {
    memmove(r->buf, r->buf + r->start, r->end - r->start);
    r->end -= r->start;
    r->start = 0;
  }
  for (;;) {
    ssize_t n = read(r->fd, r->buf + r->end, r->cap - r->end);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("data read: %s", strerror(errno));
    if (n == 0) die("data connection closed before the EOF block");
    r->end += (size_t)n;
    return;
  }
}

/*
 * Reads one file's blocks, up to and including the block whose descriptor has EOF (64);
 * returns its data bytes. Each block is a descriptor byte and a 16-bit count, then count bytes;
 * a restart marker block (descriptor 16) carries marker text, not data.
 */
static long long read_blocks(reader_t *r) {
  long long bytes = 0;
  for (;;) {
    while (r->end - r->start < 3) reader_fill(r);
    unsigned char *header = (unsigned char *)r->buf + r->start;
    int descriptor = header[0];
    size_t count = ((size_t)header[1] << 8) | header[2];
    r->start += 3;
    if (descriptor & 0x0f) die("block descriptor 0x%02x has undefined bits", descriptor);
    while (count > 0) {
      if (r->start == r->end) reader_fill(r);
      size_t take = r->end - r->start < count ? r->end - r->start : count;
      if (!(descriptor & 16)) bytes += (long long)take;
      r->start += take;
      count -= take;
    }
    if (descriptor & 64) return bytes;
  }
}

static int mode_retrb(int argc, char **argv) {
  if (argc != 5) die("usage: retrb PORT USER PASS COUNT FMT");
  set_user(argv);
  int count = atoi(argv[3]);
  ctrl_t *c = session();
  send_cmd(c, "MODE B");
  expect(c, read_reply(c), 200, 200, "MODE B");
  reader_t r = {epsv(c), xmalloc(BULK), 0, 0, BULK};
  long long bytes = 0;
  char path[4096];
  double start = now();
  for (int i = 0; i < count; i++) {
    snprintf(path, sizeof path, argv[4], i);
    send_cmd(c, "RETR %s", path);
    expect(c, read_reply(c), 125, 150, "RETR");
    bytes += read_blocks(&r);
    /* RFC 959 §4.2: 250, not 226, since the data connection stays open. */
    expect(c, read_reply(c), 250, 250, "RETR completion");
  }
  double seconds = now() - start;
  close(r.fd);
  quit(c);
  printf("ops %d seconds %.6f bytes %lld\n", count, seconds, bytes);
  return 0;
}

/* ---- MODE Z (draft-preston-ftpext-deflate: a zlib stream per transfer) ------------------ */

static double cpu_self(void) {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6 +
         (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec / 1e6;
}

static int mode_retrz(int argc, char **argv) {
  if (argc < 5 || argc > 6 || (strcmp(argv[4], "S") != 0 && strcmp(argv[4], "Z") != 0)) {
    die("usage: retrz PORT USER PASS PATH S|Z [LEVEL]");
  }
  set_user(argv);
  int deflate = argv[4][0] == 'Z';
  char *in = xmalloc(BULK);
  ctrl_t *c = session();
  if (deflate) {
#ifdef FTPCLIENT_NO_ZLIB
    die("built without zlib (FTPCLIENT_NO_ZLIB): MODE Z needs zlib1g-dev");
#endif
    send_cmd(c, "MODE Z");
    expect(c, read_reply(c), 200, 200, "MODE Z");
    if (argc == 6) {
      send_cmd(c, "OPTS MODE Z LEVEL %d", atoi(argv[5]));
      expect(c, read_reply(c), 200, 200, "OPTS MODE Z LEVEL");
    }
  }
  int data = epsv(c);
  double cpu = cpu_self();
  double start = now();
  send_cmd(c, "RETR %s", argv[3]);
  expect(c, read_reply(c), 125, 150, "RETR");
  long long wire = 0, bytes = 0;
  if (!deflate) {
    bytes = wire = drain(data, in, BULK);
  } else {
#ifndef FTPCLIENT_NO_ZLIB
    char *out = xmalloc(BULK);
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit(&z) != Z_OK) die("inflateInit failed");
    int status = Z_OK;
    for (;;) {
      ssize_t n = read(data, in, BULK);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) die("data read: %s", strerror(errno));
      if (n == 0) break;
      wire += n;
      z.next_in = (unsigned char *)in;
      z.avail_in = (unsigned)n;
      while (z.avail_in > 0 && status != Z_STREAM_END) {
        z.next_out = (unsigned char *)out;
        z.avail_out = BULK;
        status = inflate(&z, Z_NO_FLUSH);
        if (status != Z_OK && status != Z_STREAM_END) die("inflate: %d", status);
        bytes += BULK - z.avail_out;
      }
      if (z.avail_in > 0) die("bytes after the end of the zlib stream");
    }
    if (status != Z_STREAM_END) die("the zlib stream did not end");
    inflateEnd(&z);
    free(out);
#endif
  }
  close(data);
  expect(c, read_reply(c), 226, 226, "RETR completion");
  double seconds = now() - start;
  cpu = cpu_self() - cpu;
  quit(c);
  printf("bytes %lld wire %lld seconds %.6f client_cpu %.6f\n", bytes, wire, seconds, cpu);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) die("usage: ftpclient MODE ARGS... (see the comment at the top of ftpclient.c)");
  signal(SIGPIPE, SIG_IGN);
  const char *limit = getenv("FTPCLIENT_TIMEOUT");
  alarm(limit ? (unsigned)atoi(limit) : 300);
  const char *mode = argv[1];
  argc -= 2;
  argv += 2;
  if (strcmp(mode, "sink") == 0) return mode_sink(argc, argv);
  if (strcmp(mode, "sendfile") == 0) return mode_sendfile(argc, argv);
  if (strcmp(mode, "http") == 0) return mode_http(argc, argv);
  if (strcmp(mode, "retr") == 0) return mode_retr(argc, argv);
  if (strcmp(mode, "retrb") == 0) return mode_retrb(argc, argv);
  if (strcmp(mode, "retrz") == 0) return mode_retrz(argc, argv);
  if (strcmp(mode, "stor") == 0) return mode_stor(argc, argv);
  if (strcmp(mode, "rest") == 0) return mode_rest(argc, argv);
  if (strcmp(mode, "list") == 0) return mode_list(argc, argv);
  if (strcmp(mode, "concurrent") == 0) return mode_concurrent(argc, argv);
  if (strcmp(mode, "logins") == 0) return mode_logins(argc, argv);
  if (strcmp(mode, "hold") == 0) return mode_hold(argc, argv);
  if (strcmp(mode, "startup") == 0) return mode_startup(argc, argv);
  die("unknown mode %s", mode);
  return 1;
}
