/* fvce-exec: runs one task and records what it used.
 *
 * Usage: fvce-exec RUSAGE_FILE PROGRAM ARGV0 [ARGS...]
 *
 * The executor starts every task through this small program rather than directly. Linux
 * counts, in a process's maximum RSS, the memory of the process it was spawned from (the
 * address space it had before exec): a task spawned straight from the node would report at
 * least the node's own size. Spawned from this tiny process instead, the task reports its
 * own. fvce-exec forks, execs PROGRAM with ARGV0 ARGS in the inherited environment, waits,
 * writes the task's resource use to RUSAGE_FILE ("maxrss_kib N", "utime_us N", "stime_us N",
 * one per line), and ends the way the task ended (same exit code, or the same signal).
 *
 * Signals sent to the task's process group reach fvce-exec too: it ignores those a task may
 * want to handle (the task decides); SIGKILL ends both.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static const int kForwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE};

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: fvce-exec RUSAGE_FILE PROGRAM ARGV0 [ARGS...]\n");
    return 127;
  }
  const char* rusage_file = argv[1];
  const char* program = argv[2];
  size_t n = sizeof kForwarded / sizeof kForwarded[0];
  for (size_t i = 0; i < n; ++i) signal(kForwarded[i], SIG_IGN);

  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "fvce-exec: fork: %s\n", strerror(errno));
    return 127;
  }
  if (pid == 0) {
    for (size_t i = 0; i < n; ++i) signal(kForwarded[i], SIG_DFL);
    execv(program, argv + 3);
    fprintf(stderr, "fvce-exec: cannot run %s: %s\n", program, strerror(errno));
    _exit(127);
  }

  int status = 0;
  struct rusage ru;
  memset(&ru, 0, sizeof ru);
  while (wait4(pid, &status, 0, &ru) < 0) {
    if (errno != EINTR) {
      fprintf(stderr, "fvce-exec: wait: %s\n", strerror(errno));
      return 127;
    }
  }

  FILE* f = fopen(rusage_file, "w");
  if (f) {
    fprintf(f, "maxrss_kib %ld\nutime_us %lld\nstime_us %lld\n", ru.ru_maxrss,
            (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
            (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec);
    fclose(f);
  }

  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core); /* the task dumped core already, if it was to */
    signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    kill(getpid(), sig);
    return 128 + sig;
  }
  return 127;
}
