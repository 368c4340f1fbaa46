"""pty_answer.py TRANSCRIPT PROMPT ANSWER -- COMMAND [ARG...]

Runs COMMAND with a new pseudo-terminal as its controlling terminal and stdin/stdout/stderr (what
a person's shell gives it), types ANSWER and Enter once PROMPT has appeared on the terminal, and
writes everything the terminal showed to TRANSCRIPT (bytes, as a person would have seen them).
Exits with COMMAND's exit status; 124 when it did not finish within 60 s.

The answer is typed only after the program turned the terminal's echo off (it is polled on the
master side), so an echoed password in the transcript means the program echoed it or never
turned echo off: both are what a no-echo prompt must not do. A program that never turns echo off
gets the answer after 3 s anyway, and the line discipline echoes it into the transcript.
"""

import os
import pty
import select
import signal
import sys
import termios
import time

transcript, prompt, answer = sys.argv[1], sys.argv[2].encode(), sys.argv[3].encode()
if len(sys.argv) < 6 or sys.argv[4] != "--":
    sys.exit("usage: pty_answer.py TRANSCRIPT PROMPT ANSWER -- COMMAND [ARG...]")
command = sys.argv[5:]

pid, fd = pty.fork()
if pid == 0:
    try:
        os.execvp(command[0], command)
    finally:
        os._exit(127)

seen = b""
prompt_at = None
typed = False
status = None
deadline = time.monotonic() + 60
while True:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        os.kill(pid, signal.SIGKILL)
        status = 124
        break
    ready, _, _ = select.select([fd], [], [], min(remaining, 0.05))
    if ready:
        try:
            data = os.read(fd, 4096)
        except OSError:  # EIO: every process on the terminal closed it
            data = b""
        if not data:
            break
        seen += data
    if not typed and prompt in seen:
        prompt_at = prompt_at or time.monotonic()
        echo_off = not (termios.tcgetattr(fd)[3] & termios.ECHO)
        if echo_off or time.monotonic() - prompt_at > 3:
            os.write(fd, answer + b"\r")
            typed = True

_, wait_status = os.waitpid(pid, 0)
if status is None:
    status = os.waitstatus_to_exitcode(wait_status)
    status = status if status >= 0 else 128 - status
with open(transcript, "wb") as f:
    f.write(seen)
sys.exit(status)
