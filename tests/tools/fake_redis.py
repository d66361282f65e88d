#!/usr/bin/python3
"""A misbehaving Redis server for tests/integration/redis_client.sh.

Usage: fake_redis.py MODE [--host 127.0.0.1|::1]

Listens on a free loopback port, prints it on stdout (one line), then serves
until killed. Modes:

  stall    accepts connections and reads, never answers (a hung server)
  pong     answers every command with +PONG (enough for a handshake)
  loading  answers PING, AUTH and SELECT, and every other command with
           -LOADING (a server reloading its dataset)
  echo     answers AUTH with an error that repeats the arguments it was sent
           (a server whose messages would leak a password)
  full     never accepts, and its one-slot accept queue is filled at start, so
           a connect hangs until the client's connect timeout (Linux drops
           the SYN of a full queue)
"""
import socket
import sys
import threading


def read_command(f):
    """One RESP array of bulk strings, or None at EOF."""
    line = f.readline()
    if not line:
        return None
    if not line.startswith(b"*"):
        return [line.strip()]  # inline command
    args = []
    for _ in range(int(line[1:])):
        n = int(f.readline()[1:])
        args.append(f.read(n + 2)[:-2])
    return args


def serve(conn, mode):
    f = conn.makefile("rb")
    try:
        while True:
            args = read_command(f)
            if args is None:
                return
            if mode == "stall":
                continue
            name = args[0].upper() if args else b""
            if mode == "pong":
                reply = b"+PONG\r\n"
            elif mode == "loading":
                if name == b"PING":
                    reply = b"+PONG\r\n"
                elif name in (b"AUTH", b"SELECT"):
                    reply = b"+OK\r\n"
                else:
                    reply = b"-LOADING Redis is loading the dataset in memory\r\n"
            else:  # echo
                if name == b"AUTH":
                    reply = b"-WRONGPASS you sent " + b" ".join(args[1:]) + b"\r\n"
                else:
                    reply = b"+OK\r\n"
            conn.sendall(reply)
    except (OSError, ValueError):
        return
    finally:
        conn.close()


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode not in ("stall", "pong", "loading", "echo", "full"):
        sys.exit(__doc__)
    host = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--host" else "127.0.0.1"
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, 0))
    port = s.getsockname()[1]
    if mode == "full":
        s.listen(0)
        filler = socket.create_connection((host, port), timeout=5)
        print(port, flush=True)
        threading.Event().wait()  # until killed; filler keeps the queue full
        filler.close()
    s.listen(16)
    print(port, flush=True)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve, args=(conn, mode), daemon=True).start()


if __name__ == "__main__":
    main()
