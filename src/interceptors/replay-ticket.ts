import type { InternalAxiosRequestConfig } from 'axios';

/**
 * A replay's proof of origin: an object only this module makes, good for one send. axios's config
 * merge passes it through by reference (it is not a plain object), so the replay's final config
 * carries it; any later copy carries one already used, and is a new request, not a replay.
 */
class ReplayTicket {
  constructor(readonly replays: Replays) {}
}
const liveTickets = new WeakSet<ReplayTicket>();

/** Which replays a request already had: of a 401 with a fresh token, of a DPoP nonce challenge (RFC 9449 §9). */
export interface Replays {
  unauthorized: boolean;
  nonce: boolean;
}

const NONE: Replays = Object.freeze({ unauthorized: false, nonce: false });

/** A ticket for the replay about to be made, which had `replays` (this one included). */
export function issueReplayTicket(replays: Replays): object {
  const ticket = new ReplayTicket(replays);
  liveTickets.add(ticket);
  return ticket;
}

/** The replays this send had, if it is the replay its ticket was issued for; the ticket is used up either way. */
export function takeReplayTicket(config: InternalAxiosRequestConfig): Replays {
  const ticket = config.clientCredentials?.replayTicket;
  return ticket instanceof ReplayTicket && liveTickets.delete(ticket) ? ticket.replays : NONE;
}
