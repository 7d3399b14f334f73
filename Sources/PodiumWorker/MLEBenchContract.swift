#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import PodiumCore
import PodiumProtocol
import PodiumSystem

/// MLE-bench's container contract, kept for images built `FROM mlebench-env` without changing them. What MLE-bench
/// does (its `environment/entrypoint.sh` and `agents/run.py`), and what podium does instead:
/// - the entrypoint, as root, makes `/home` writable for everyone except `/home/data` and logs to
///   `/home/logs/entrypoint.log` — podium runs the same as root with `docker exec` once the container is up;
/// - the entrypoint starts a grading server on port 5000 with the answers mounted in the container — podium serves the
///   same endpoints from the worker inside the container's network namespace and relays each submission to the
///   coordinator, so the answers never reach the node;
/// - the harness waits for `/health`, then runs `bash /home/agent/start.sh <kwargs>` as `nonroot` — podium's
///   container command waits for `/podium/ready` (written once the server listens) and then `exec`s the same, as
///   `nonroot`, so the container's main process is the agent and the budget, signals and logs work as for any agent.
/// The budget starts when `ready` is written; image check, creation and setup have their own deadline.
struct MLEBenchContract {
    static let name = "mlebench"
    let engine: DockerEngine

    /// The container's command: wait for podium's go, then become the start script (its arguments follow `$0`).
    static let agentScript = """
        while [ ! -e /podium/ready ]; do sleep 0.1; done
        cd /home
        exec bash /home/agent/start.sh "$@"
        """

    /// What MLE-bench's entrypoint does before its grading server, as root; the lines go to the entrypoint log.
    static let setupScript = """
        mkdir -p /home/logs
        {
          echo "podium: MLE-bench container contract (entrypoint steps run by podium-worker)"
          date
          chmod a+rw /home
          for p in /home/* /home/.[!.]*; do
            [ -e "$p" ] || continue
            [ "$p" = /home/data ] && continue
            chmod -R a+rw "$p"
          done
          ls -l /home
          echo "podium: validation server on localhost:5000 (answered by the podium coordinator)"
        } >> /home/logs/entrypoint.log 2>&1
        """

    func launch(spec base: DockerEngine.CreateSpec, request r: StartRequest, layout: AttemptLayout, services: AttemptServices,
                deadline: Double) throws -> DockerHandle {
        let contractDir = layout.root + "/contract"
        let fm = FileManager.default
        try? fm.removeItem(atPath: contractDir)
        do { try fm.createDirectory(atPath: contractDir, withIntermediateDirectories: true) } catch {
            throw InfraFailure("cannot create \(contractDir): \(error)")
        }
        chmod(contractDir, 0o755)
        var spec = base
        spec.entrypoint = ["/bin/sh", "-c", Self.agentScript, "podium-agent"] + r.startArguments
        spec.command = []
        spec.user = r.user ?? "nonroot"
        spec.binds.append((contractDir, "/podium", true))
        let id = try engine.create(spec)
        func fail(_ stage: String, _ error: Any) -> InfraFailure {
            try? engine.remove(id)
            return InfraFailure("MLE-bench contract setup of \(r.runID) epoch \(r.epoch) failed while \(stage): \(error)")
        }
        do { try engine.start(id) } catch { throw fail("starting the container", error) }
        let state: DockerEngine.ContainerState
        do { state = try engine.inspect(id) } catch { throw fail("inspecting the container", error) }
        guard state.running, state.pid > 0 else {
            throw fail("starting the container", "it exited at once (status \(state.exitCode)\(state.error.isEmpty ? "" : ": \(state.error)"); does the image have /bin/sh and a user 'nonroot'?)")
        }
        do {
            let code = try engine.exec(id, user: "0", command: ["/bin/sh", "-c", Self.setupScript], deadline: deadline)
            guard code == 0 else { throw fail("preparing /home as root", "the step exited with status \(code) (see logs/entrypoint.log)") }
        } catch let e as InfraFailure { throw e } catch { throw fail("preparing /home as root", error) }
        let server: ValidationServer
        do { server = try ValidationServer.open(networkNamespaceOf: state.pid, relay: services.validate) } catch {
            throw fail("opening the validation server on port 5000", error)
        }
        guard monotonicSeconds() < deadline else {
            server.stop()
            throw fail("setting up", "the setup deadline of \(r.setupTimeoutSeconds) s passed")
        }
        // The go: the container's command execs the start script now, and the budget starts.
        guard fm.createFile(atPath: contractDir + "/ready", contents: Data("ready\n".utf8)) else {
            server.stop()
            throw fail("writing \(contractDir)/ready", "cannot write it")
        }
        return DockerHandle(engine: engine, id: id, server: server)
    }
}
