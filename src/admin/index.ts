export { type AdminDeps, adminRoutes } from './admin-routes.ts';
