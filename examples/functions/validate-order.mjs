// A user function for streampy-worker: passes orders on unchanged and refuses the ones marked
// "poison". A refused message is NACKed and redelivered; once the queue has delivered it
// max-deliveries times it moves it to its dead-letter queue, where it waits for a person.

export default function validateOrder(message, context) {
  if (message.includes('poison')) {
    throw new Error(`refusing a poison order (delivery ${context.deliveries ?? 1})`);
  }
  return message;
}
