export {
  createRouter,
  type MessageChannel,
  type MessagePurpose,
  orderKeyFor,
  type RouteRequest,
  type Router,
} from './router.ts';
