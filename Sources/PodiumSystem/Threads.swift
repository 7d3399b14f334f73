#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Runs blocking work (socket reads, container supervision) on its own OS thread, off Swift's cooperative pool.
public enum BlockingThread {
    private final class Box { let body: () -> Void; init(_ b: @escaping () -> Void) { body = b } }

    public static func start(_ body: @escaping @Sendable () -> Void) {
        var tid = pthread_t()
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        let rc = pthread_create(&tid, nil, { raw in
            let b = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            b.body()
            return nil
        }, box)
        precondition(rc == 0, "pthread_create failed: \(rc)")
        pthread_detach(tid)
    }
}

/// A mutex-protected value, for state shared between blocking threads.
public final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private var mutex = pthread_mutex_t()

    public init(_ value: Value) {
        self.value = value
        pthread_mutex_init(&mutex, nil)
    }
    deinit { pthread_mutex_destroy(&mutex) }

    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body(&value)
    }
}

/// Seconds on the monotonic clock.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Seconds since the Unix epoch.
public func wallClockSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

public func sleepSeconds(_ s: Double) {
    guard s > 0 else { return }
    var ts = timespec(tv_sec: Int(s), tv_nsec: Int((s - Double(Int(s))) * 1e9))
    var rest = timespec()
    while nanosleep(&ts, &rest) == -1 && errno == EINTR { ts = rest }
}

/// A blocking multi-producer queue: threads push, one loop pops (with an optional timeout). With a capacity, a push
/// waits while the queue is full — backpressure from a slow consumer to its producers, so memory stays bounded.
public final class BlockingQueue<Element>: @unchecked Sendable {
    // Popped slots are set to nil at once: a consumed element (a megabyte of log data, say) must not stay referenced
    // until the next compaction.
    private var items: [Element?] = []
    private var head = 0
    private var mutex = pthread_mutex_t()
    private var cond = pthread_cond_t()
    private var notFull = pthread_cond_t()
    private let capacity: Int

    public init(capacity: Int = .max) {
        self.capacity = capacity
        pthread_cond_init(&notFull, nil)
        pthread_mutex_init(&mutex, nil)
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        pthread_cond_init(&cond, &attr)
        pthread_condattr_destroy(&attr)
    }

    /// Adds an element; with `wait` (the default) it first waits for room when the queue is at capacity.
    /// The consumer's own thread must pass `wait: false`, or it could wait for itself.
    public func push(_ e: Element, wait: Bool = true) {
        pthread_mutex_lock(&mutex)
        while wait && items.count - head >= capacity { pthread_cond_wait(&notFull, &mutex) }
        items.append(e)
        pthread_cond_signal(&cond)
        pthread_mutex_unlock(&mutex)
    }

    /// The next element, or nil once `timeout` seconds pass with none.
    public func pop(timeout: Double) -> Element? {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let deadlineNs = Int(now.tv_sec) * 1_000_000_000 + Int(now.tv_nsec) + Int(timeout * 1e9)
        var deadline = timespec(tv_sec: deadlineNs / 1_000_000_000, tv_nsec: deadlineNs % 1_000_000_000)
        while head >= items.count {
            if pthread_cond_timedwait(&cond, &mutex, &deadline) == ETIMEDOUT { break }
        }
        guard head < items.count else { return nil }
        let e = items[head]
        items[head] = nil
        head += 1
        pthread_cond_signal(&notFull)
        if head == items.count { items.removeAll(keepingCapacity: true); head = 0 }
        else if head > 1024 && head * 2 > items.count { items.removeFirst(head); head = 0 }
        return e
    }
}
