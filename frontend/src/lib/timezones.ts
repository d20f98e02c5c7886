/** IANA time zones from the browser (Intl.supportedValuesOf), grouped by region with their current UTC offset. */

export interface TimeZoneOption {
  id: string;
  label: string;
}

function offsetLabel(tz: string, at: Date): string {
  try {
    const part = new Intl.DateTimeFormat("en-US", { timeZone: tz, timeZoneName: "shortOffset" }).formatToParts(at).find((p) => p.type === "timeZoneName");
    return part?.value.replace("GMT", "UTC") ?? "";
  } catch {
    return "";
  }
}

/** All time zones this browser knows (falls back to UTC + the browser's own zone). */
export function supportedTimeZones(): string[] {
  const intl = Intl as typeof Intl & { supportedValuesOf?: (key: "timeZone") => string[] };
  const list = typeof intl.supportedValuesOf === "function" ? intl.supportedValuesOf("timeZone") : [];
  const all = new Set(["UTC", ...list]);
  all.add(browserTimeZone());
  return [...all];
}

/** The browser's time zone. */
export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/** Time zones grouped by their region prefix ("America", "Europe", …), labelled "City (UTC+1)". */
export function groupedTimeZones(at: Date = new Date()): { region: string; zones: TimeZoneOption[] }[] {
  const groups = new Map<string, TimeZoneOption[]>();
  for (const id of supportedTimeZones()) {
    const slash = id.indexOf("/");
    const region = slash === -1 ? "Other" : id.slice(0, slash);
    const city = (slash === -1 ? id : id.slice(slash + 1)).replaceAll("_", " ").replaceAll("/", " – ");
    const offset = offsetLabel(id, at);
    const zones = groups.get(region) ?? [];
    zones.push({ id, label: offset ? `${city} (${offset})` : city });
    groups.set(region, zones);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a === "Other" ? 1 : b === "Other" ? -1 : a.localeCompare(b)))
    .map(([region, zones]) => ({ region, zones: zones.sort((x, y) => x.label.localeCompare(y.label)) }));
}
