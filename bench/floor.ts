/**
 * Prints the runtime's floor (bench/lib/floor.ts): workerd CPU per call-minute for `--calls`
 * sockets of Twilio-shaped 20 ms media messages into Durable Objects with no application, without
 * and with 60 ms messages back. Run: `npx tsx bench/floor.ts [--calls 10] [--seconds 20]`.
 */
import { parseArgs } from "node:util";
import { measureRuntimeFloor } from "./lib/floor";

const { values } = parseArgs({ options: { calls: { type: "string" }, seconds: { type: "string" } } });
const calls = Number(values.calls ?? 10);
const seconds = Number(values.seconds ?? 20);
for (const outbound of [false, true]) {
  const r = await measureRuntimeFloor({ calls, seconds, outbound });
  console.log(`${calls} calls, ${outbound ? "inbound + 60 ms outbound" : "inbound only"}: workerd ${r.cpuMs.toFixed(0)} ms over ${((calls * seconds) / 60).toFixed(2)} call-min = ${r.cpuMsPerCallMin} ms/call-min (${r.inboundMessages} messages in)`);
}
