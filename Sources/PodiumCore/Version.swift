/// podium's version, shared by the coordinator and the worker (they must match: see the protocol handshake).
public let podiumVersion = "0.1.0"
