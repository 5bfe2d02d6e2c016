#define _GNU_SOURCE
#include "services/execute/impl/spawn_child.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* Kept apart (noinline) so that no caller's variable lives across the vfork. */
/* In the child: limits, then identity. Nonzero (errno set) on failure. */
static int become(const struct fvce_spawn_identity* who, const struct fvce_spawn_limits* limits) {
  /* Into the task's control groups first, while still allowed to write there. */
  for (const char* const* g = limits ? limits->cgroup_procs : NULL; g && *g; ++g) {
    int fd = open(*g, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = write(fd, "0", 1); /* 0: the writing process itself */
    int saved = errno;
    close(fd);
    if (n != 1) {
      errno = n < 0 ? saved : EIO;
      return -1;
    }
  }
  struct rlimit none = {0, 0};
  if (setrlimit(RLIMIT_CORE, &none) != 0) return -1;
  if (limits && limits->data_bytes > 0) {
    struct rlimit r = {(rlim_t)limits->data_bytes, (rlim_t)limits->data_bytes};
    if (setrlimit(RLIMIT_DATA, &r) != 0) return -1;
  }
  if (limits && limits->cpu_seconds > 0) {
    struct rlimit r = {(rlim_t)limits->cpu_seconds, (rlim_t)limits->cpu_seconds + 1};
    if (setrlimit(RLIMIT_CPU, &r) != 0) return -1;
  }
  if (!who) return 0;
  if (who->uid == 0) {
    errno = EPERM;
    return -1;
  }
  if (setgroups((size_t)who->n_groups, who->groups) != 0 || setgid(who->gid) != 0 ||
      setuid(who->uid) != 0)
    return -1;
  /* Dropped for good: the way back to root must be closed. */
  if (setuid(0) == 0 || getuid() != who->uid || geteuid() != who->uid) {
    errno = EPERM;
    return -1;
  }
  return 0;
}

__attribute__((noinline)) pid_t fvce_spawn_child(const char* program, char* const argv[],
                                                 char* const envp[], const char* cwd, int out,
                                                 int err, int nice_level,
                                                 const struct fvce_spawn_identity* who,
                                                 const struct fvce_spawn_limits* limits,
                                                 int* error) {
  volatile int child_errno = 0;
  pid_t parent = getpid();
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old); /* no handler may run in the borrowed space */
  pid_t pid = vfork();
  if (pid == 0) {
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &dfl, NULL);
    sigset_t none;
    sigemptyset(&none);
    int fd0 = open("/dev/null", O_RDONLY);
    if (setpgid(0, 0) != 0 || prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent ||
        fd0 < 0 || dup2(fd0, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0 ||
        (nice_level != 0 && setpriority(PRIO_PROCESS, 0, nice_level) != 0) ||
        become(who, limits) != 0 || chdir(cwd) != 0) {
      child_errno = errno ? errno : ESRCH;
      _exit(127);
    }
    closefrom(3);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(program, argv, envp);
    child_errno = errno;
    _exit(127);
  }
  int saved = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (pid < 0) {
    *error = saved;
    return -1;
  }
  if (child_errno != 0) {
    *error = child_errno;
    int status;
    waitpid(pid, &status, 0);
    return -1;
  }
  return pid;
}
