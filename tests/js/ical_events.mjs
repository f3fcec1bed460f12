// Reads an iCalendar feed on stdin and prints its events as ical.js (the parser behind many web
// calendars) understands them: [{uid, start, end, dtstamp, status, summary}] with start/end as UTC
// instants (ISO 8601) after applying the feed's own VTIMEZONE components.
import ICAL from "ical.js";

let text = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) text += chunk;

const calendar = new ICAL.Component(ICAL.parse(text));
for (const vtimezone of calendar.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(vtimezone);
}
const events = calendar.getAllSubcomponents("vevent").map((vevent) => {
  const event = new ICAL.Event(vevent);
  return {
    uid: event.uid,
    start: event.startDate.toJSDate().toISOString(),
    end: event.endDate.toJSDate().toISOString(),
    tzid: event.startDate.zone ? event.startDate.zone.tzid : null,
    dtstamp: vevent.getFirstPropertyValue("dtstamp").toJSDate().toISOString(),
    status: vevent.getFirstPropertyValue("status"),
    summary: event.summary,
  };
});
process.stdout.write(JSON.stringify(events));
