#include "server/telemetry/power/run_command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

extern char** environ;

namespace attnserve::power {

absl::StatusOr<std::string> RunCommand(const std::vector<std::string>& argv,
                                       absl::Duration timeout) {
  if (argv.empty()) return absl::InvalidArgumentError("empty command");
  const std::string command = absl::StrJoin(argv, " ");
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return absl::UnavailableError(absl::StrCat("pipe for `", command, "`: ", std::strerror(errno)));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);

  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int err = ::posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(pipe_fds[1]);
  if (err != 0) {
    ::close(pipe_fds[0]);
    return absl::NotFoundError(absl::StrCat("run `", command, "`: ", std::strerror(err)));
  }

  std::string out;
  const absl::Time deadline = absl::Now() + timeout;
  bool timed_out = false;
  while (true) {
    int64_t left_ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (left_ms <= 0) {
      timed_out = true;
      break;
    }
    struct pollfd pfd = {pipe_fds[0], POLLIN, 0};
    int ready = ::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left_ms, 1000)));
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    char buf[4096];
    ssize_t n = ::read(pipe_fds[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the command (and its children) closed stdout
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > (size_t{1} << 20)) break;
  }
  ::close(pipe_fds[0]);
  if (timed_out) ::kill(-pid, SIGKILL);
  int status = 0;
  // After EOF the command normally exits at once; bound the wait anyway.
  pid_t waited = 0;
  for (int i = 0; i < 200; ++i) {
    waited = ::waitpid(pid, &status, WNOHANG);
    if (waited != 0) break;
    ::usleep(5000);
  }
  if (waited == 0) {
    ::kill(-pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    timed_out = true;
  }
  if (timed_out) {
    return absl::DeadlineExceededError(absl::StrCat("`", command, "` did not finish within ",
                                                    absl::FormatDuration(timeout), "; killed"));
  }
  if (WIFSIGNALED(status)) {
    return absl::UnavailableError(
        absl::StrCat("`", command, "` killed by signal ", WTERMSIG(status)));
  }
  if (WEXITSTATUS(status) == 127) {
    return absl::NotFoundError(absl::StrCat("`", command, "`: command not found (exit 127)"));
  }
  if (WEXITSTATUS(status) != 0) {
    return absl::UnavailableError(
        absl::StrCat("`", command, "` exited with status ", WEXITSTATUS(status)));
  }
  return out;
}

}  // namespace attnserve::power
