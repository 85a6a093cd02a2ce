// Drives the approval page in headless Chromium: load it from a running planner-run, type the
// name and token, approve the one pending proposal, and check that its file changed state.
// Usage: node approve.mjs URL TOKEN_FILE ACTIONS_DIR [SCREENSHOT.png]
import { chromium } from "playwright-core";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

const [url, tokenFile, actionsDir, screenshot] = process.argv.slice(2);
if (!url || !tokenFile || !actionsDir) {
  console.error("usage: node approve.mjs URL TOKEN_FILE ACTIONS_DIR [SCREENSHOT.png]");
  process.exit(2);
}
const token = readFileSync(tokenFile, "utf8").trim();
const files = readdirSync(actionsDir).filter((f) => f.endsWith(".json"));
if (files.length !== 1) throw new Error(`expected one proposal, found ${files.length}`);
const file = join(actionsDir, files[0]);
const status = () => JSON.parse(readFileSync(file, "utf8")).status;
if (status() !== "pending") throw new Error(`the proposal is ${status()}, not pending`);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
try {
  // A phone-sized window: the page must work there.
  const page = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
  const problems = [];
  page.on("console", (m) => { if (m.type() === "error") problems.push(m.text()); });
  page.on("pageerror", (e) => problems.push(String(e)));
  await page.goto(url, { waitUntil: "load" });
  await page.locator(".card").first().waitFor({ timeout: 10000 });
  await page.fill("#by", "alice");
  await page.fill("#token", token);
  await page.click("#save");
  await page.locator("#status", { hasText: "Saved" }).waitFor({ timeout: 5000 }).catch(() => {});
  await page.locator(".card").first().waitFor({ timeout: 10000 });
  await page.fill(".card input", "ok from the phone");
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  await page.click(".card button.approve");
  await page.locator("#status", { hasText: "-> approved" }).waitFor({ timeout: 10000 });
  if (status() !== "approved") throw new Error(`the file says ${status()} after approving`);
  // The token is not in the page's storage beyond this tab, and never in a cookie.
  const cookies = await page.context().cookies();
  if (cookies.length !== 0) throw new Error("the page set a cookie");
  if (problems.length) throw new Error("console errors (CSP?): " + problems.join("; "));
  await page.locator(".empty").waitFor({ timeout: 10000 });
  console.log(`approve.mjs: ${files[0]} approved through the page`);
} finally {
  await browser.close();
}
