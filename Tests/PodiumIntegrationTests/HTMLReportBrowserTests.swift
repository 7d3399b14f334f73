import XCTest
import PodiumCore
import PodiumReport
import PodiumSystem

/// The HTML report renders in a real browser: Chromium (Debian's `chromium`) takes a headless screenshot, and the
/// decoded PNG must show the report — mostly white page, but with the plots' colours, not a blank or error page.
final class HTMLReportBrowserTests: XCTestCase {
    func chromium() throws -> String {
        for p in ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"] where FileManager.default.isExecutableFile(atPath: p) {
            return p
        }
        let message = "no Chromium on this machine (apt-get install chromium)"
        if ProcessInfo.processInfo.environment["PODIUM_REQUIRE_CHROMIUM"] == "1" { XCTFail(message) }
        throw XCTSkip(message)
    }

    func testReportRendersInHeadlessChromium() throws {
        let browser = try chromium()
        let dir = makeTempDir("html")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var results = [RunResult]()
        var timed = [TimedGrade]()
        for (ci, c) in ["aerial-cactus-identification", "leaf-classification", "spooky-author-identification", "nomad2018"].enumerated() {
            for hours in [24, 100] {
                for a in 1...8 {
                    let medal = (ci + a + hours / 24) % 3 == 0
                    results.append(RunResult(competition: c, budget: BudgetDuration(seconds: hours * 3600), profile: "gpu1", attempt: a,
                                             graded: true, submissionExists: true, validSubmission: true, gold: medal, agent: "aide"))
                    for t in stride(from: 6, through: hours, by: 6) {
                        timed.append(TimedGrade(runKey: "\(c)\(hours)\(a)", competition: c, budget: BudgetDuration(seconds: hours * 3600),
                                                profile: "gpu1", agent: "aide", elapsedHours: Double(t), anyMedal: medal && t >= hours / 2))
                    }
                }
            }
        }
        let html = HTMLReport(title: "browser test", subtitle: "synthetic", groups: summarize(results), results: results,
                              comparisons: PairedComparison.all(results, axis: .budget), curves: TimeCurve.curves(timed),
                              accounting: [("GPU-hours used", "1234.00")]).render()
        let page = dir + "/report.html", png = dir + "/shot.png"
        try html.write(toFile: page, atomically: true, encoding: .utf8)
        let shot = ChildProcess.capture([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                                         "--user-data-dir=\(dir)/profile", "--window-size=1200,2600", "--screenshot=\(png)", "file://\(page)"],
                                        timeout: 120)
        XCTAssertEqual(shot?.code, 0, "chromium failed: \(shot?.output ?? "did not start")")
        XCTAssertTrue(FileManager.default.fileExists(atPath: png), "no screenshot")
        // Decode the PNG with Python's standard library (zlib + the five PNG row filters) and measure it.
        let stats = ChildProcess.capture(["python3", "-c", Self.pngStats, png], timeout: 60)
        let fields = (stats?.output ?? "").split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Double($0) }
        XCTAssertEqual(fields.count, 4, "png stats: \(stats?.output ?? "python3 missing")")
        guard fields.count == 4 else { return }
        let (width, nonWhite, gold, distinct) = (fields[0], fields[1], fields[2], fields[3])
        XCTAssertEqual(width, 1200)
        XCTAssertGreaterThan(nonWhite, 0.02, "the page is (nearly) blank")
        XCTAssertGreaterThan(gold, 50, "no gold heat-map cells visible")
        XCTAssertGreaterThan(distinct, 20, "too few colours for tables, lines and the heat map")
    }

    /// Prints: width, fraction of non-white pixels, number of gold (#d4af37 ± 8) pixels, distinct colours (capped).
    static let pngStats = """
    import sys, zlib, struct
    data = open(sys.argv[1], 'rb').read()
    assert data[:8] == b'\\x89PNG\\r\\n\\x1a\\n'
    pos, idat, w = 8, b'', 0
    while pos < len(data):
        n, kind = struct.unpack('>I4s', data[pos:pos + 8]); body = data[pos + 8:pos + 8 + n]; pos += 12 + n
        if kind == b'IHDR': w, h, depth, ctype = struct.unpack('>IIBB', body[:10])
        if kind == b'IDAT': idat += body
    bpp = {2: 3, 6: 4}[ctype]; raw = zlib.decompress(idat); stride = w * bpp
    prev = bytearray(stride); nonwhite = gold = 0; colours = set(); i = 0
    for y in range(h):
        f = raw[i]; line = bytearray(raw[i + 1:i + 1 + stride]); i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0; b = prev[x]; c = prev[x - bpp] if x >= bpp else 0
            if f == 1: line[x] = (line[x] + a) & 255
            elif f == 2: line[x] = (line[x] + b) & 255
            elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        for x in range(0, stride, bpp):
            r, g, bl = line[x], line[x + 1], line[x + 2]
            if r < 245 or g < 245 or bl < 245: nonwhite += 1
            if abs(r - 212) <= 8 and abs(g - 175) <= 8 and abs(bl - 55) <= 8: gold += 1
            if len(colours) < 1000: colours.add((r, g, bl))
        prev = line
    print(w, nonwhite / (w * h), gold, len(colours))
    """
}
