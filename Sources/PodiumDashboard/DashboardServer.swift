import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import PodiumCoordinator
import PodiumCore
import PodiumStore
import PodiumSystem

/// `podium serve`: the read-only web dashboard over a state file (Hummingbird 2). Pages, a JSON API under /api/v1,
/// Server-Sent Events for live views, and Prometheus /metrics. Nothing it serves changes the state; every file it reads
/// is found through the state (run id and epoch), never from a path in the URL.
public struct DashboardServer: Sendable {
    public var state: DashboardState
    public var metrics: DashboardMetrics
    public var host: String
    public var port: Int
    /// nil: loopback only, no token. Required for any other address.
    public var token: String?
    /// Bytes of a log's tail the run page opens with.
    public var tailBytes = 64 << 10
    /// How often live streams look at the state.
    public var pollSeconds = 0.5

    public init(state: DashboardState, metrics: DashboardMetrics, host: String, port: Int, token: String?) {
        self.state = state; self.metrics = metrics; self.host = host; self.port = port; self.token = token
    }

    /// Whether an address is loopback (the only ones served without a token).
    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    /// Runs until SIGINT/SIGTERM; `onListening` gets the bound port (useful with port 0).
    public func run(onListening: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: SecurityMiddleware(token: token))
        routes(router)
        var logger = Logger(label: "podium.serve")
        logger.logLevel = .warning
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "podium"),
                              onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) }, logger: logger)
        try await app.runService()
    }

    // MARK: routes

    func routes(_ router: Router<BasicRequestContext>) {
        let state = self.state, metrics = self.metrics, tail = tailBytes, poll = pollSeconds

        router.get("/") { _, _ -> Response in
            try await offPool {
                try html(state.memo("page:/") { all in
                    guard let first = all.first else { return Pages.message("no sweeps", "The state has no sweep yet: run `podium sweep` first.") }
                    return Pages.overview(first, all: all)
                })
            }
        }
        router.get("/sweeps/:name") { _, context -> Response in
            try await offPool {
                let name = try context.parameters.require("name")
                return try html(state.memo("page:sweep:" + name) { all in
                    guard let v = all.first(where: { $0.name == name }) else { throw NotFound(what: "sweep") }
                    return Pages.overview(v, all: all)
                })
            }
        }
        router.get("/nodes") { _, _ -> Response in
            try await offPool {
                let events = try state.nodeEvents()
                return try html(state.memo("page:nodes") { all in Pages.nodes(Pages.nodeRows(all, events: events)) })
            }
        }
        router.get("/runs/:id") { _, context -> Response in
            try await offPool {
                let id = try context.parameters.require("id")
                guard let d = try state.run(id) else { throw NotFound(what: "run") }
                return html(Pages.run(d, tailBytes: tail))
            }
        }
        router.get("/report") { request, _ -> Response in
            try await offPool {
                let all = try state.sweeps()
                let want = request.uri.queryParameters.get("sweep")
                guard let v = want.map({ w in all.first { $0.name == w } }) ?? all.first else { throw NotFound(what: "sweep") }
                let body = try state.memo("page:report:" + v.name) { _ in try state.reportHTML(sweep: v.name) }
                // The report is one self-contained file: inline styles and SVG, no script at all.
                return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8",
                                                       .contentSecurityPolicy: "default-src 'none'; style-src 'unsafe-inline'; img-src data:"],
                                body: .init(byteBuffer: ByteBuffer(string: body)))
            }
        }
        router.get("/static/dashboard.css") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "max-age=300"],
                     body: .init(byteBuffer: ByteBuffer(string: Assets.css)))
        }
        router.get("/static/dashboard.js") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/javascript; charset=utf-8", .cacheControl: "max-age=300"],
                     body: .init(byteBuffer: ByteBuffer(string: Assets.js)))
        }
        router.get("/metrics") { _, _ -> Response in
            try await offPool {
                Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                         body: .init(byteBuffer: ByteBuffer(string: try metrics.scrape(state))))
            }
        }

        // JSON API
        router.get("/api/v1/sweeps") { _, _ -> Response in
            try await offPool {
                try json(state.memo("api:sweeps") { all in try jsonText(SweepsBody(sweeps: all.map(\.overview))) })
            }
        }
        router.get("/api/v1/sweeps/:name") { _, context -> Response in
            try await offPool {
                let name = try context.parameters.require("name")
                return try json(state.memo("api:sweep:" + name) { all in
                    guard let v = all.first(where: { $0.name == name }) else { throw NotFound(what: "sweep") }
                    return try jsonText(LiveBody(v))
                })
            }
        }
        router.get("/api/v1/sweeps/:name/runs") { _, context -> Response in
            try await offPool {
                let name = try context.parameters.require("name")
                return try json(state.memo("api:runs:" + name) { all in
                    guard let v = all.first(where: { $0.name == name }) else { throw NotFound(what: "sweep") }
                    var nodes = [AttemptKey: String]()
                    for a in v.attempts { nodes[a.key] = a.node }
                    return try jsonText(RunsBody(sweep: name, runs: v.runs.map { RunBody($0, medal: v.medal($0), lastNode: nodes[$0.key]) }))
                })
            }
        }
        router.get("/api/v1/sweeps/:name/stream") { _, context -> Response in
            let name = try context.parameters.require("name")
            guard try await offPool({ try state.sweep(name) }) != nil else { throw NotFound(what: "sweep") }
            return sse { emit in
                var last = ""
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    let version = try await offPool { try state.version() }
                    if version != last {
                        last = version
                        let body = try await offPool {
                            try state.memo("api:sweep:" + name) { all in
                                guard let v = all.first(where: { $0.name == name }) else { throw NotFound(what: "sweep") }
                                return try jsonText(LiveBody(v))
                            }
                        }
                        try await emit("overview", body)
                    }
                    try await Task.sleep(for: .seconds(poll))
                }
            }
        }
        router.get("/api/v1/nodes") { _, _ -> Response in
            try await offPool {
                let events = try state.nodeEvents()
                return try json(state.memo("api:nodes") { all in try jsonText(NodesBody(nodes: Pages.nodeRows(all, events: events))) })
            }
        }
        router.get("/api/v1/runs/:id") { _, context -> Response in
            try await offPool {
                let id = try context.parameters.require("id")
                guard let d = try state.run(id) else { throw NotFound(what: "run") }
                return try json(jsonText(RunDetailBody(d)))
            }
        }
        router.get("/api/v1/runs/:id/attempts/:epoch/log") { request, context -> Response in
            try await offPool {
                let path = try logPath(state, context)
                let q = request.uri.queryParameters
                let slice: LogSlice
                do {
                    if let offset = q.get("offset", as: Int64.self) {
                        slice = try LogSlice.read(path: path, offset: offset, length: q.get("length", as: Int.self) ?? tail)
                    } else {
                        slice = try LogSlice.tail(path: path, length: min(q.get("tail", as: Int.self) ?? tail, LogSlice.maxLength))
                    }
                } catch LogSlice.Failure.missing {
                    slice = LogSlice(offset: 0, next: 0, size: 0, text: "", bytesRead: 0)
                } catch {
                    throw HTTPError(.internalServerError, message: "the log could not be read")
                }
                var r = try json(jsonText(LogBody(slice)))
                r.headers[HTTPField.Name("X-Podium-Bytes-Read")!] = String(slice.bytesRead)
                return r
            }
        }
        router.get("/api/v1/runs/:id/attempts/:epoch/log/stream") { request, context -> Response in
            let path = try await offPool { try logPath(state, context) }
            let start = max(0, request.uri.queryParameters.get("from", as: Int64.self) ?? 0)
            return sse { emit in
                var from = start
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    let at = from
                    if let s = try? await offPool({ try LogSlice.read(path: path, offset: at, length: LogSlice.maxLength) }), s.next > from || s.offset > from {
                        try await emit("log", try jsonText(LogBody(s)))
                        from = s.next
                        if s.next < s.size { continue }  // more is there: send it at once
                    }
                    try await Task.sleep(for: .seconds(poll))
                }
            }
        }
    }
}

// MARK: bodies

struct SweepsBody: Encodable { var sweeps: [SweepOverview] }

/// What the overview page needs to update itself: the counts, a summary line, each cell's state and medal, failures.
struct LiveBody: Encodable {
    var overview: SweepOverview
    var summary: String
    var cells: [[CellValue]]
    var failures: [Pages.FailureRow]

    enum CellValue: Encodable {
        case int(Int), text(String), none
        func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .int(let i): try c.encode(i)
            case .text(let s): try c.encode(s)
            case .none: try c.encodeNil()
            }
        }
    }

    init(_ v: SweepView) {
        overview = v.overview
        summary = Pages.summaryLine(v.overview)
        cells = v.runs.enumerated().map { i, r in [.int(i), .text(r.state.rawValue), v.medal(r).map { .text($0) } ?? .none] }
        failures = Pages.failures(v)
    }
}

struct RunBody: Encodable {
    var id: String, competition: String, agent: String, budget: String, profile: String, attempt: Int
    var state: String, epoch: Int, node: String?, infra_failures: Int, medal: String?
    /// `node`: where the run is now, else where its current attempt ran (nil only before its first dispatch).
    init(_ r: RunRecord, medal: String?, lastNode: String? = nil) {
        id = r.id; competition = r.spec.competition; agent = r.spec.agent; budget = r.spec.budget.description; profile = r.spec.profile
        attempt = r.spec.attempt; state = r.state.rawValue; epoch = r.epoch; node = r.node ?? lastNode; infra_failures = r.infraFailures
        self.medal = medal
    }

    enum CodingKeys: String, CodingKey { case id, competition, agent, budget, profile, attempt, state, epoch, node, infra_failures, medal }

    /// Every field written (a null node, a null medal), so clients need not ask whether a key exists.
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id); try c.encode(competition, forKey: .competition); try c.encode(agent, forKey: .agent)
        try c.encode(budget, forKey: .budget); try c.encode(profile, forKey: .profile); try c.encode(attempt, forKey: .attempt)
        try c.encode(state, forKey: .state); try c.encode(epoch, forKey: .epoch); try c.encode(node, forKey: .node)
        try c.encode(infra_failures, forKey: .infra_failures); try c.encode(medal, forKey: .medal)
    }
}

struct RunsBody: Encodable { var sweep: String; var runs: [RunBody] }
struct NodesBody: Encodable { var nodes: [Pages.NodeRow] }

struct RunDetailBody: Encodable {
    struct Attempt: Encodable {
        var epoch: Int, node: String, outcome: String?, exit_code: Int?, elapsed_seconds: Double?, message: String?
        var dispatched_at: Double, started_at: Double?, log_bytes: Int64, gpu_model: String?, gpu_ids: [String], image_digest: String?
    }
    struct Grade: Encodable {
        var epoch: Int, artifact: String, is_final: Bool, elapsed_seconds: Double?, score: Double?, valid: Bool, any_medal: Bool
        var gold: Bool, silver: Bool, bronze: Bool, above_median: Bool, grading_seconds: Double?
    }
    struct Event: Encodable { var at: Double, epoch: Int?, kind: String, from: String?, to: String?, detail: String? }
    var run: RunBody
    var attempts: [Attempt]
    var grades: [Grade]
    var grading_report: String?
    var events: [Event]

    init(_ d: DashboardState.RunDetail) {
        run = RunBody(d.run, medal: nil, lastNode: d.attempts.last { $0.epoch == d.run.epoch }?.node)
        attempts = d.attempts.map {
            Attempt(epoch: $0.epoch, node: $0.node, outcome: $0.outcome?.rawValue, exit_code: $0.exitCode, elapsed_seconds: $0.elapsedSeconds,
                    message: $0.message, dispatched_at: $0.dispatchedAt, started_at: $0.startedAt, log_bytes: $0.logBytes,
                    gpu_model: $0.gpuModel, gpu_ids: $0.gpuIDs, image_digest: $0.imageDigest)
        }
        grades = d.grades.map {
            Grade(epoch: $0.epoch, artifact: $0.artifact, is_final: $0.isFinal, elapsed_seconds: $0.elapsedSeconds, score: $0.score, valid: $0.valid,
                  any_medal: $0.anyMedal, gold: $0.gold, silver: $0.silver, bronze: $0.bronze, above_median: $0.aboveMedian,
                  grading_seconds: $0.gradingSeconds)
        }
        grading_report = d.grades.last { $0.isFinal && $0.epoch == d.run.epoch }?.reportJSON
        events = d.events.map { Event(at: $0.at, epoch: $0.epoch, kind: $0.kind, from: $0.from, to: $0.to, detail: $0.detail) }
    }
}

struct LogBody: Encodable {
    var offset: Int64, next: Int64, size: Int64, text: String
    init(_ s: LogSlice) { offset = s.offset; next = s.next; size = s.size; text = s.text }
}

// MARK: helpers

/// The dashboard's blocking work (SQLite reads, file reads, rendering) runs here, not on Swift's cooperative pool, so a
/// slow read never stalls the server's other requests and streams.
let blockingReads = DispatchQueue(label: "podium.serve.reads", attributes: .concurrent)

func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { c in blockingReads.async { c.resume(with: Result { try work() }) } }
}

struct NotFound: HTTPResponseError {
    var what: String
    var status: HTTPResponse.Status { .notFound }
    func response(from request: Request, context: some RequestContext) throws -> Response {
        Response(status: .notFound, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: "no such \(what)\n")))
    }
}

func jsonText<T: Encodable>(_ value: T) throws -> String {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys]
    e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return String(decoding: try e.encode(value), as: UTF8.self)
}

func html(_ body: String) -> Response {
    Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"], body: .init(byteBuffer: ByteBuffer(string: body)))
}

func json(_ body: String) -> Response {
    Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"], body: .init(byteBuffer: ByteBuffer(string: body)))
}

/// A Server-Sent Events response: `produce` calls `emit(event, data)`; it ends when the client goes away (a write
/// fails) or the server shuts down (its loop checks `Task.isShuttingDownGracefully`, so Ctrl-C does not wait for
/// viewers to leave).
func sse(_ produce: @escaping @Sendable (_ emit: (String, String) async throws -> Void) async throws -> Void) -> Response {
    Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"],
             body: ResponseBody { writer in
                 try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
                 do {
                     try await produce { event, data in
                         try await writer.write(ByteBuffer(string: "event: \(event)\ndata: \(data)\n\n"))
                     }
                 } catch is CancellationError {}
                 try await writer.finish(nil)
             })
}

/// The log file of `/api/v1/runs/:id/attempts/:epoch/…`, found through the state.
func logPath(_ state: DashboardState, _ context: BasicRequestContext) throws -> String {
    let id = try context.parameters.require("id")
    guard let epoch = Int(try context.parameters.require("epoch")), let path = try state.logPath(run: id, epoch: epoch) else {
        throw NotFound(what: "attempt")
    }
    return path
}

extension HTTPField.Name {
    static let contentSecurityPolicy = HTTPField.Name("Content-Security-Policy")!
    static let xContentTypeOptions = HTTPField.Name("X-Content-Type-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
}

/// Read-only, token-checked, and hardened headers on every response.
/// - Only GET and HEAD are served (405 otherwise): the dashboard changes nothing.
/// - With a token: `Authorization: Bearer T`, or the `podium_token` cookie, which `?token=T` on a page sets (then
///   redirects to the same page without it, so the token does not stay in the address bar or history). Wrong or
///   missing → 401. Tokens are compared in constant time.
struct SecurityMiddleware<Context: RequestContext>: RouterMiddleware {
    var token: String?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .get || request.method == .head else {
            return Response(status: .methodNotAllowed, headers: [.allow: "GET, HEAD", .contentType: "text/plain"],
                            body: .init(byteBuffer: ByteBuffer(string: "podium serve is read-only: cancel and retry are `podium cancel` / `podium retry`\n")))
        }
        if let token {
            var presented: String?
            if let auth = request.headers[.authorization], auth.hasPrefix("Bearer ") { presented = String(auth.dropFirst(7)) }
            if presented == nil, let cookie = request.headers[.cookie] {
                for part in cookie.split(separator: ";") {
                    let kv = part.trimmingCharacters(in: .whitespaces)
                    if kv.hasPrefix("podium_token=") { presented = String(kv.dropFirst("podium_token=".count)) }
                }
            }
            if presented == nil, let q = request.uri.queryParameters.get("token"), constantTimeEqual(q, token) {
                // Set the cookie and drop the token from the address.
                let path = request.uri.path
                return Response(status: .seeOther, headers: [.location: path.hasPrefix("/") ? path : "/",
                                                             .setCookie: "podium_token=\(token); HttpOnly; SameSite=Strict; Path=/"])
            }
            guard let p = presented, constantTimeEqual(p, token) else {
                return Response(status: .unauthorized, headers: [.wwwAuthenticate: "Bearer realm=\"podium\"", .contentType: "text/plain"],
                                body: .init(byteBuffer: ByteBuffer(string: "401: a token is required (Authorization: Bearer …, or open /?token=… once)\n")))
            }
        }
        var response = try await next(request, context)
        if response.headers[.contentSecurityPolicy] == nil {
            response.headers[.contentSecurityPolicy] = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
        }
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.referrerPolicy] = "no-referrer"
        response.headers[.xFrameOptions] = "DENY"
        return response
    }
}

func constantTimeEqual(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8), y = Array(b.utf8)
    var diff = UInt8(x.count == y.count ? 0 : 1)
    for i in 0..<max(x.count, y.count) { diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0) }
    return diff == 0
}
