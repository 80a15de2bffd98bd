@rem Windows' cmd.exe has no `exec`. The start script is `exec node dist/main.js` so that on Linux
@rem and macOS the shell pnpm runs it in becomes node: a shell left waiting for node dies of the
@rem Ctrl-C itself, and pnpm reports that as a failed command although the demo stopped cleanly.
@rem cmd.exe finds this file in the package directory and runs the rest of the line as it is.
@%*
