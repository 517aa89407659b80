/**
 * The tab's calls to Signpost's /api/tab. Each carries who is calling: the Teams SSO token in
 * Teams, or in local mode the playground person chosen on the picker. The server decides what
 * that person may see; the tab only shows what it is given.
 */

export type Credentials = { kind: 'teams'; token: () => Promise<string> } | { kind: 'local'; personId: string };

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class SignpostApi {
  constructor(private readonly credentials: Credentials) {}

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('POST', path, body);
  }

  /** A text answer (the report's CSV). */
  async text(path: string): Promise<string> {
    const response = await fetch(path, { headers: await this.headers() });
    if (!response.ok) throw new ApiError(response.status, await errorMessage(response));
    return response.text();
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers = await this.headers();
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (!response.ok) throw new ApiError(response.status, await errorMessage(response));
    return (await response.json()) as T;
  }

  private async headers(): Promise<Record<string, string>> {
    if (this.credentials.kind === 'local') return { 'x-signpost-local-person': this.credentials.personId };
    return { authorization: `Bearer ${await this.credentials.token()}` };
  }
}

async function errorMessage(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { error?: string };
    return body.error ?? `Signpost answered ${response.status}.`;
  } catch {
    return `Signpost answered ${response.status}.`;
  }
}
