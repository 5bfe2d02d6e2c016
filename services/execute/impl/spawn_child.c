#define _GNU_SOURCE
#include "services/execute/impl/spawn_child.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* Kept apart (noinline) so that no caller's variable lives across the vfork. */
__attribute__((noinline)) pid_t fvce_spawn_child(const char* program, char* const argv[],
                                                 char* const envp[], const char* cwd, int out,
                                                 int err, int nice_level, int* error) {
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
        fd0 < 0 || dup2(fd0, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0 || chdir(cwd) != 0 ||
        (nice_level != 0 && setpriority(PRIO_PROCESS, 0, nice_level) != 0)) {
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
