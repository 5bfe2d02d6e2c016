/* fvce-exec: the executor's process launcher.
 *
 * Usage: fvce-exec FD [NICE]
 *
 * The node starts one fvce-exec per executor and keeps it for its whole life. It serves
 * requests on FD, one end of a socketpair: spawn a task, signal a task. It answers with the
 * task's pid (or why it could not start) and later with its exit status and resource use.
 *
 * Why a separate process: Linux counts, in a process's maximum RSS, the address space it was
 * spawned from. A task spawned straight from the node would report at least the node's own
 * size; spawned from this tiny static program, it reports its own. And spawning from a small
 * process is cheap: no page tables of a large parent to copy, no thread of the node blocked.
 *
 * Tasks run at nice NICE (default 0) in their own process group, with default signal
 * dispositions, an empty signal mask, stdin from /dev/null and stdout/stderr to the files
 * named in the request, and SIGKILL as their parent-death signal (spawn_child.h). When a
 * task's leader exits, the rest of its group is killed (while the zombie leader still pins
 * the group id), then it is reaped with wait4.
 *
 * When FD reaches end of file (the node stopped or died), or fvce-exec is told to end
 * (SIGTERM, SIGINT, SIGHUP), every task still running is killed and reaped, and fvce-exec
 * exits: no task outlives its node, and a task still queued behind another never starts.
 *
 * Wire format, both ways: frames of a 4-byte length (host order; the peer is on the same
 * host) followed by that many bytes, the first of which is the type.
 *   node → fvce-exec
 *     'S' u64 id, then NUL-terminated strings: program, cwd, stdout path, stderr path,
 *         then u32 argc and argc strings, u32 envc and envc strings, then u32 1 and u32
 *         uid, u32 gid, u32 n, n u32 groups to run as that user (u32 0: as fvce-exec's own),
 *         then u64 data limit (bytes) and u64 CPU limit (seconds), 0 = none (spawn_child.h).
 *     'Q' u64 id, u64 after, then as 'S': start task id the moment task `after` has been
 *         reaped (at once if `after` is not running). The node's executor queues a task this
 *         way behind the one whose slots it will take, so that the slot passes from one to
 *         the next without a round trip through the node.
 *     'K' u64 id, i32 signal: signal the task's process group (ignored once reaped); for a
 *         task still queued by 'Q', withdraw it ('F' with ECANCELED).
 *   fvce-exec → node
 *     'P' u64 id, i32 pid: started.
 *     'F' u64 id, i32 errno, string: could not start (message names what failed).
 *     'X' u64 id, i32 wait status, i64 max RSS (KiB), i64 user CPU (µs), i64 system CPU (µs).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "services/execute/impl/spawn_child.h"

enum { kMaxFrame = 64 << 20 };

struct child {
  uint64_t id;
  pid_t pid;
};

/* A task queued by 'Q': its request, copied, until `after` is reaped. */
struct queued {
  uint64_t id, after;
  char* frame; /* the 'Q' frame's body after the two ids */
  uint32_t len;
};

static struct child* children;
static size_t n_children, cap_children;
static struct queued* queue;
static size_t n_queue, cap_queue;
static int sock = -1;
static int task_nice;

static void die(const char* what) {
  fprintf(stderr, "fvce-exec: %s: %s\n", what, strerror(errno));
  exit(127);
}

static void write_all(const void* data, size_t n) {
  const char* p = data;
  while (n > 0) {
    ssize_t w = write(sock, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        struct pollfd pfd = {sock, POLLOUT, 0};
        poll(&pfd, 1, -1);
        continue;
      }
      if (errno == EPIPE) return; /* the node is gone: the read side ends us */
      die("write");
    }
    p += w;
    n -= (size_t)w;
  }
}

static void send_frame(char type, const void* body, uint32_t n, const char* text) {
  uint32_t text_n = text ? (uint32_t)strlen(text) + 1 : 0;
  uint32_t len = 1 + n + text_n;
  char head[5];
  memcpy(head, &len, 4);
  head[4] = type;
  write_all(head, 5);
  write_all(body, n);
  if (text_n) write_all(text, text_n);
}

static void add_child(uint64_t id, pid_t pid) {
  if (n_children == cap_children) {
    cap_children = cap_children ? cap_children * 2 : 16;
    children = realloc(children, cap_children * sizeof *children);
    if (!children) die("realloc");
  }
  children[n_children].id = id;
  children[n_children].pid = pid;
  ++n_children;
}

static struct child* find_by_id(uint64_t id) {
  for (size_t i = 0; i < n_children; ++i)
    if (children[i].id == id) return &children[i];
  return NULL;
}

static struct child* find_by_pid(pid_t pid) {
  for (size_t i = 0; i < n_children; ++i)
    if (children[i].pid == pid) return &children[i];
  return NULL;
}

static void remove_child(struct child* c) {
  *c = children[--n_children];
}

static void add_queued(uint64_t id, uint64_t after, const char* body, uint32_t len) {
  if (n_queue == cap_queue) {
    cap_queue = cap_queue ? cap_queue * 2 : 8;
    queue = realloc(queue, cap_queue * sizeof *queue);
    if (!queue) die("realloc");
  }
  char* copy = malloc(len ? len : 1);
  if (!copy) die("malloc");
  memcpy(copy, body, len);
  queue[n_queue].id = id;
  queue[n_queue].after = after;
  queue[n_queue].frame = copy;
  queue[n_queue].len = len;
  ++n_queue;
}

/* Takes the queued entry at index i out, keeping the order of the rest. */
static struct queued take_queued(size_t i) {
  struct queued q = queue[i];
  memmove(&queue[i], &queue[i + 1], (n_queue - i - 1) * sizeof *queue);
  --n_queue;
  return q;
}

/* A request body is parsed in place; every string must end inside it. */
struct reader {
  const char* p;
  const char* end;
  int bad;
};

static const char* next_string(struct reader* r) {
  const char* s = r->p;
  const char* nul = r->p < r->end ? memchr(r->p, '\0', (size_t)(r->end - r->p)) : NULL;
  if (!nul) {
    r->bad = 1;
    return "";
  }
  r->p = nul + 1;
  return s;
}

static uint64_t next_u64(struct reader* r) {
  uint64_t v = 0;
  if (r->end - r->p < 8) {
    r->bad = 1;
    return 0;
  }
  memcpy(&v, r->p, 8);
  r->p += 8;
  return v;
}

static uint32_t next_u32(struct reader* r) {
  uint32_t v = 0;
  if (r->end - r->p < 4) {
    r->bad = 1;
    return 0;
  }
  memcpy(&v, r->p, 4);
  r->p += 4;
  return v;
}

static void refuse(uint64_t id, int err, const char* what, const char* path) {
  char msg[4096];
  snprintf(msg, sizeof msg, "%s %s: %s", what, path, strerror(err));
  char body[12];
  int32_t e = err;
  memcpy(body, &id, 8);
  memcpy(body + 8, &e, 4);
  send_frame('F', body, sizeof body, msg);
}

/* Strings of a request: a u32 count, then that many strings (NULL-terminated array, or
 * NULL when the request is malformed). */
static char** next_strings(struct reader* r) {
  uint32_t n = next_u32(r);
  if (r->bad || n > (uint32_t)(r->end - r->p)) return NULL;
  char** v = calloc((size_t)n + 1, sizeof *v);
  if (!v) die("calloc");
  for (uint32_t i = 0; i < n; ++i) v[i] = (char*)next_string(r);
  return v;
}

static void spawn_task(uint64_t id, struct reader* r) {
  const char* program = next_string(r);
  const char* cwd = next_string(r);
  const char* out_path = next_string(r);
  const char* err_path = next_string(r);
  char** argv = r->bad ? NULL : next_strings(r);
  char** envp = argv ? next_strings(r) : NULL;
  struct fvce_spawn_identity who = {0, 0, NULL, 0};
  gid_t* groups = NULL;
  int has_who = envp ? (int)next_u32(r) : 0;
  if (has_who && !r->bad) {
    who.uid = (uid_t)next_u32(r);
    who.gid = (gid_t)next_u32(r);
    uint32_t n = next_u32(r);
    if (!r->bad && n <= 65536 && n * 4u <= (uint32_t)(r->end - r->p)) {
      groups = calloc((size_t)n + 1, sizeof *groups);
      if (!groups) die("calloc");
      for (uint32_t i = 0; i < n; ++i) groups[i] = (gid_t)next_u32(r);
      who.groups = groups;
      who.n_groups = (int)n;
    } else {
      r->bad = 1;
    }
  }
  struct fvce_spawn_limits limits = {0, 0, NULL};
  limits.data_bytes = next_u64(r);
  limits.cpu_seconds = next_u64(r);
  char** cgroups = r->bad ? NULL : next_strings(r);
  limits.cgroup_procs = (const char* const*)cgroups;
  int out = -1, err = -1;
  pid_t pid = -1;
  if (!envp || !cgroups || r->bad || !argv[0]) {
    refuse(id, EINVAL, "malformed request for", program);
    goto done;
  }
  /* Not following a link: a capture file is a new name in the task's directory. */
  out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (out < 0) {
    refuse(id, errno, "cannot create", out_path);
    goto done;
  }
  err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (err < 0) {
    refuse(id, errno, "cannot create", err_path);
    goto done;
  }
  int rc = 0;
  pid = fvce_spawn_child(program, argv, envp, cwd, out, err, task_nice, has_who ? &who : NULL,
                         &limits, &rc);
  if (pid < 0) refuse(id, rc, "cannot start", program);

done:
  if (out >= 0) close(out);
  if (err >= 0) close(err);
  free(argv);
  free(envp);
  free(groups);
  free(cgroups);
  if (pid <= 0) return;
  add_child(id, pid);
  char body[12];
  int32_t p = pid;
  memcpy(body, &id, 8);
  memcpy(body + 8, &p, 4);
  send_frame('P', body, sizeof body, NULL);
}

static void signal_task(struct reader* r) {
  uint64_t id;
  int32_t sig;
  if (r->end - r->p < 12) return;
  memcpy(&id, r->p, 8);
  memcpy(&sig, r->p + 8, 4);
  struct child* c = find_by_id(id);
  if (c) {
    kill(-c->pid, sig);
    return;
  }
  for (size_t i = 0; i < n_queue; ++i) {
    if (queue[i].id != id) continue;
    struct queued q = take_queued(i);
    free(q.frame);
    char body[12];
    int32_t e = ECANCELED;
    memcpy(body, &id, 8);
    memcpy(body + 8, &e, 4);
    send_frame('F', body, sizeof body, "withdrawn before it started");
    return;
  }
}

static void handle(const char* frame, uint32_t len) {
  struct reader r = {frame + 1, frame + len, 0};
  if (frame[0] == 'S') {
    uint64_t id;
    if (len < 9) return;
    memcpy(&id, frame + 1, 8);
    r.p += 8;
    spawn_task(id, &r);
  } else if (frame[0] == 'Q') {
    uint64_t id, after;
    if (len < 17) return;
    memcpy(&id, frame + 1, 8);
    memcpy(&after, frame + 9, 8);
    r.p += 16;
    if (find_by_id(after))
      add_queued(id, after, r.p, (uint32_t)(r.end - r.p));
    else
      spawn_task(id, &r); /* its predecessor has ended already: its slots are free */
  } else if (frame[0] == 'K') {
    signal_task(&r);
  }
}

/* Reaps every task that has exited and reports it. */
static void reap(void) {
  for (;;) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0) return;
    pid_t pid = info.si_pid;
    kill(-pid, SIGKILL); /* the rest of the group, while the leader pins its id */
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    if (wait4(pid, &status, 0, &ru) != pid) continue;
    struct child* c = find_by_pid(pid);
    if (!c) continue;
    uint64_t ended = c->id;
    /* The task queued behind it starts first: its slots are free from this moment. */
    for (size_t i = 0; i < n_queue; ++i) {
      if (queue[i].after != ended) continue;
      struct queued q = take_queued(i);
      struct reader qr = {q.frame, q.frame + q.len, 0};
      spawn_task(q.id, &qr);
      free(q.frame);
      c = find_by_pid(pid); /* spawn_task may have moved the table */
      break;
    }
    char body[8 + 4 + 24];
    int32_t st = status;
    int64_t rss = ru.ru_maxrss;
    int64_t ut = (int64_t)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec;
    int64_t sy = (int64_t)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
    memcpy(body, &c->id, 8);
    memcpy(body + 8, &st, 4);
    memcpy(body + 12, &rss, 8);
    memcpy(body + 20, &ut, 8);
    memcpy(body + 28, &sy, 8);
    remove_child(c);
    send_frame('X', body, sizeof body, NULL);
  }
}

static void kill_all_and_exit(void) {
  for (size_t i = 0; i < n_children; ++i) kill(-children[i].pid, SIGKILL);
  while (n_children > 0) {
    int status;
    pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) break;
    struct child* c = find_by_pid(pid);
    if (c) remove_child(c);
  }
  exit(0);
}

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: fvce-exec FD [NICE]   (started by the fvce node)\n");
    return 127;
  }
  sock = atoi(argv[1]);
  if (argc == 3) task_nice = atoi(argv[2]);
  if (fcntl(sock, F_GETFD) < 0) die("the request socket");
  fcntl(sock, F_SETFD, FD_CLOEXEC);
  signal(SIGPIPE, SIG_IGN);
  if (task_nice < 0 || task_nice > 19) {
    fprintf(stderr, "fvce-exec: NICE must be 0 to 19\n");
    return 127;
  }

  /* Children, and being told to end, arrive through a signalfd. */
  sigset_t watched;
  sigemptyset(&watched);
  sigaddset(&watched, SIGCHLD);
  sigaddset(&watched, SIGTERM);
  sigaddset(&watched, SIGINT);
  sigaddset(&watched, SIGHUP);
  sigprocmask(SIG_BLOCK, &watched, NULL);
  int sfd = signalfd(-1, &watched, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) die("signalfd");

  size_t cap = 1 << 16, have = 0;
  char* buf = malloc(cap);
  if (!buf) die("malloc");
  for (;;) {
    struct pollfd pfd[2] = {{sock, POLLIN, 0}, {sfd, POLLIN, 0}};
    if (poll(pfd, 2, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    if (pfd[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      int end = 0;
      while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si)
        if (si.ssi_signo != SIGCHLD) end = 1;
      reap();
      if (end) kill_all_and_exit();
    }
    if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      if (cap - have < 4096) {
        cap *= 2;
        buf = realloc(buf, cap);
        if (!buf) die("realloc");
      }
      ssize_t n = read(sock, buf + have, cap - have);
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) kill_all_and_exit();
      if (n > 0) have += (size_t)n;
      size_t off = 0;
      while (have - off >= 4) {
        uint32_t len;
        memcpy(&len, buf + off, 4);
        if (len == 0 || len > kMaxFrame) {
          errno = EPROTO;
          die("request");
        }
        if (have - off - 4 < len) {
          if (len + 4 > cap) {
            while (len + 4 > cap) cap *= 2;
            buf = realloc(buf, cap);
            if (!buf) die("realloc");
          }
          break;
        }
        handle(buf + off + 4, len);
        off += 4 + len;
      }
      memmove(buf, buf + off, have - off);
      have -= off;
    }
  }
}
