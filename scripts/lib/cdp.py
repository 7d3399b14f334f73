#!/usr/bin/env python3
"""Drives headless Chromium over the DevTools protocol (a small WebSocket client of its own, standard library only).

usage: cdp.py STEPS.json   (prints one JSON object: each step's result; exit 1 when a step fails)

STEPS is a list of steps, run in order in one page:
  {"navigate": URL}                       load a page and wait for its load event
  {"wait": JS, "timeout": S, "as": NAME}  evaluate JS until it is truthy (polled every 100 ms); fails after S seconds
  {"eval": JS, "as": NAME}                evaluate JS once (promises awaited) and keep its value
  {"screenshot": PATH}                    PNG of the viewport
The page's console messages and uncaught exceptions are collected too ("console", "exceptions").
"""
import base64, json, os, random, shutil, socket, struct, subprocess, sys, tempfile, time, urllib.request


class WebSocket:
    def __init__(self, url):
        assert url.startswith("ws://")
        hostport, _, path = url[5:].partition("/")
        host, _, port = hostport.partition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=120)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise RuntimeError("websocket handshake: connection closed")
            head += chunk
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise RuntimeError("websocket handshake refused: " + head.decode(errors="replace"))

    def send(self, text):
        data = text.encode()
        mask = os.urandom(4)
        n = len(data)
        header = bytes([0x81])
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _exact(self, n):
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise RuntimeError("websocket closed")
            out += chunk
        return out

    def recv(self):
        message = b""
        while True:
            b0, b1 = self._exact(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._exact(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._exact(8))[0]
            payload = self._exact(n)
            opcode = b0 & 0x0F
            if opcode == 8:
                raise RuntimeError("websocket closed by the browser")
            if opcode in (9, 10):
                continue
            message += payload
            if b0 & 0x80:
                return message.decode()


class Page:
    def __init__(self, ws):
        self.ws, self.next_id, self.events = ws, 0, []

    def call(self, method, **params):
        self.next_id += 1
        my = self.next_id
        self.ws.send(json.dumps({"id": my, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def evaluate(self, js):
        r = self.call("Runtime.evaluate", expression=js, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError("script error: " + json.dumps(r["exceptionDetails"])[:500])
        return r.get("result", {}).get("value")


def main():
    steps = json.load(open(sys.argv[1]))
    browser = next((p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome") if os.path.exists(p)), None)
    if not browser:
        print(json.dumps({"ok": False, "error": "no Chromium"}))
        return 1
    profile = tempfile.mkdtemp(prefix="podium-cdp-")
    proc = subprocess.Popen([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                             "--no-proxy-server", "--window-size=1280,1000", "--remote-debugging-port=0",
                             f"--user-data-dir={profile}", "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = {"ok": True, "results": {}}
    try:
        port_file = os.path.join(profile, "DevToolsActivePort")
        deadline = time.time() + 60
        while not os.path.exists(port_file) or len(open(port_file).read().split("\n")) < 2:
            if time.time() > deadline:
                raise RuntimeError("Chromium did not open its DevTools port")
            time.sleep(0.1)
        port = int(open(port_file).read().split("\n")[0])
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        pages = json.load(opener.open(f"http://127.0.0.1:{port}/json/list", timeout=30))
        target = next(p for p in pages if p.get("type") == "page")
        page = Page(WebSocket(target["webSocketDebuggerUrl"]))
        page.call("Page.enable")
        page.call("Runtime.enable")
        for step in steps:
            name = step.get("as")
            if "navigate" in step:
                page.events.clear()
                page.call("Page.navigate", url=step["navigate"])
                deadline = time.time() + step.get("timeout", 30)
                while not any(e.get("method") == "Page.loadEventFired" for e in page.events):
                    if time.time() > deadline:
                        raise RuntimeError(f"{step['navigate']}: no load event")
                    page.events.append(json.loads(page.ws.recv()))
            elif "wait" in step:
                deadline, value = time.time() + step.get("timeout", 30), None
                started = time.time()
                while True:
                    value = page.evaluate(step["wait"])
                    if value:
                        break
                    if time.time() > deadline:
                        raise RuntimeError(f"timed out waiting for {step['wait']} (last value {value!r})")
                    time.sleep(0.1)
                if name:
                    out["results"][name] = {"value": value, "seconds": round(time.time() - started, 3)}
            elif "eval" in step:
                value = page.evaluate(step["eval"])
                if name:
                    out["results"][name] = value
            elif "screenshot" in step:
                shot = page.call("Page.captureScreenshot", format="png")
                open(step["screenshot"], "wb").write(base64.b64decode(shot["data"]))
        for e in page.events:
            if e.get("method") == "Runtime.consoleAPICalled":
                out.setdefault("console", []).append(" ".join(str(a.get("value", a.get("description", ""))) for a in e["params"]["args"]))
            if e.get("method") == "Runtime.exceptionThrown":
                out.setdefault("exceptions", []).append(e["params"]["exceptionDetails"].get("text", "?"))
    except Exception as e:  # noqa: BLE001 - reported to the caller as the step's failure
        out["ok"], out["error"] = False, str(e)
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(profile, ignore_errors=True)
    print(json.dumps(out))
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
