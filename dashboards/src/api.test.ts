import { describe, expect, test } from "vitest";

import { ApiProblem, failureOf } from "./api";

const problem = (status: number, code = `http_${status}`) => new ApiProblem(status, code, "Title", "detail");

describe("what a failed call means for the page", () => {
  test("only a 401 signs out", () => {
    expect(failureOf(problem(401, "invalid_token"))).toBe("unauthorized");
    expect(failureOf(problem(403))).toBe("request");
  });

  test("ClickHouse down, the API unreachable, a busy or failing server are outages worth retrying", () => {
    expect(failureOf(problem(503, "clickhouse_unavailable"))).toBe("outage");
    expect(failureOf(problem(0, "network"))).toBe("outage");
    expect(failureOf(problem(429))).toBe("outage");
    expect(failureOf(problem(500, "internal"))).toBe("outage");
    expect(failureOf(problem(502))).toBe("outage");
    expect(failureOf(new SyntaxError("Unexpected token < in JSON"))).toBe("outage");
  });

  test("a request at fault, or a query too heavy, is told as it is: retrying would not help", () => {
    expect(failureOf(problem(400, "invalid_value"))).toBe("request");
    expect(failureOf(problem(404, "not_found"))).toBe("request");
    expect(failureOf(problem(504, "query_timeout"))).toBe("request");
  });
});
