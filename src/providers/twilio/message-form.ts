import type { SendRequest } from '../provider.ts';

/**
 * The form Twilio's Messages create takes: PascalCase keys, one `MediaUrl` per media item
 * (repeated key, as twilio-node sends arrays), optional parts only when set.
 */
export function buildMessageForm(request: SendRequest): URLSearchParams {
  const form = new URLSearchParams();
  form.append('To', request.to);
  form.append('From', request.from);
  if (request.body !== null) form.append('Body', request.body);
  for (const url of request.mediaUrls) form.append('MediaUrl', url);
  if (request.contentSid !== null) form.append('ContentSid', request.contentSid);
  if (request.contentVariables !== null) form.append('ContentVariables', request.contentVariables);
  form.append('StatusCallback', request.statusCallback);
  return form;
}
